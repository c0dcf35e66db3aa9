"""Rasd's shared core: topic contracts, settings, Kafka helpers, identity,
and the extraction stage (the ingest worker)."""
