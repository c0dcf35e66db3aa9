"""Local stack: real Kafka, OpenSearch and Elasticsearch servers fetched from
Maven Central and run as loopback ``java`` processes (no Docker needed).
Entry points live in :mod:`deploy.stack.manager` (fetch, up, down, status)."""
