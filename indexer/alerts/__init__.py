"""Keyword alerts: rules compiled to percolator queries (``rules``,
``compile``, ``rules_index``), matched against every indexed batch
(``percolate``), recorded as alerts (``records``) and delivered to webhooks
from an outbox in the alerts index (``outbox``, ``webhooks``, ``notifier``)."""
