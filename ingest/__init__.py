"""Rasd's shared core: topic contracts, settings, Kafka helpers, Arabic text
normalization and the extraction stage."""
