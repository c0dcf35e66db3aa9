"""Which crawler process fetches from which host.

The frontier topic is keyed by host, so Kafka's default partitioner sends
every link of a host to one partition; the consumer group gives each
partition to exactly one live process and moves it when a process joins or
dies. A process owns the hosts whose partition it is assigned, fetches only
from them, and is the only writer of their status records."""
from __future__ import annotations

import threading
from collections.abc import Iterable

from kafka.partitioner.default import murmur2


def host_partition(host: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives the key ``host``."""
    return (murmur2(host.encode("utf-8")) & 0x7FFFFFFF) % partitions


class Ownership:
    """The partitions assigned to this process (updated by the consumer's
    rebalance callbacks in the frontier thread, read by Scrapy's thread)."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self._owned: frozenset[int] = frozenset()
        self._lock = threading.Lock()

    def assign(self, partitions: Iterable[int]) -> None:
        with self._lock:
            self._owned = frozenset(partitions)

    @property
    def owned(self) -> frozenset[int]:
        return self._owned

    def owns(self, host: str) -> bool:
        return host_partition(host, self.partitions) in self._owned
