"""Reading a whole topic back in tests (every partition, from the start to
the end offsets at call time)."""
from __future__ import annotations

import time
from typing import TypeVar

from kafka import KafkaConsumer, TopicPartition
from pydantic import BaseModel

from ingest.kafka_connection import kafka_client_kwargs
from ingest.kafka_io import decode
from ingest.settings import Settings

M = TypeVar("M", bound=BaseModel)


def read_topic(settings: Settings, topic: str, model: type[M], timeout_s: float = 30.0,
               committed_only: bool = True) -> list[tuple[bytes | None, M]]:
    """(key, record) pairs of every message on ``topic``; with
    ``committed_only`` False, those of aborted transactions too."""
    consumer = KafkaConsumer(
        **kafka_client_kwargs(settings),
        enable_auto_commit=False,
        # what the stages read: never the outputs of an aborted batch transaction
        isolation_level="read_committed" if committed_only else "read_uncommitted",
        max_partition_fetch_bytes=settings.kafka_max_message_bytes + 64 * 1024,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert partitions, f"topic {topic} has no partitions"
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        out: list[tuple[bytes | None, M]] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            assert time.monotonic() < deadline, f"timed out reading {topic}"
            for records in consumer.poll(timeout_ms=500).values():
                out.extend((r.key, decode(r.value, model)) for r in records)
        return out
    finally:
        consumer.close()
