from collections import Counter

import pytest
from kafka.partitioner.default import DefaultPartitioner

from crawlers.frontier.ownership import Ownership, host_partition

HOSTS = [f"site{i}.example" for i in range(200)]


class FakeCluster:
    """Just enough ClusterMetadata for DefaultPartitioner.partition."""

    def __init__(self, partitions: int) -> None:
        self._partitions = set(range(partitions))

    def topics(self):
        return {"frontier"}

    def partitions_for_topic(self, topic):
        return self._partitions

    def available_partitions_for_topic(self, topic):
        return self._partitions


@pytest.mark.parametrize("host", ["news.example", "www.hespress.com", "أخبار.example", "a"])
def test_partition_is_the_one_kafkas_default_partitioner_picks(host):
    # the frontier topic is keyed by host: ownership must agree with where Kafka puts the links
    key = host.encode("utf-8")
    kafka_choice = DefaultPartitioner().partition("frontier", host, key, None, None, FakeCluster(12))
    assert host_partition(host, 12) == kafka_choice


@pytest.mark.parametrize(("key", "java_murmur2"), [("21", -973932308), ("foobar", -790332482), ("abc", 479470107)])
def test_partition_matches_the_java_clients_choice(key, java_murmur2):
    # reference hashes from Kafka's Java Utils.murmur2 tests; Java picks toPositive(hash) % n
    assert host_partition(key, 12) == (java_murmur2 & 0x7FFFFFFF) % 12


def test_partition_is_stable():
    assert [host_partition(h, 12) for h in HOSTS] == [host_partition(h, 12) for h in HOSTS]


def test_hosts_spread_over_every_partition():
    counts = Counter(host_partition(h, 12) for h in HOSTS)
    assert set(counts) == set(range(12))


def test_owns_follows_the_assignment():
    own = Ownership(12)
    host = "news.example"
    mine = host_partition(host, 12)
    assert not own.owns(host)  # nothing assigned yet
    own.assign([mine])
    assert own.owns(host)
    assert own.owned == frozenset({mine})
    own.assign(p for p in range(12) if p != mine)  # rebalanced away
    assert not own.owns(host)
    assert own.owns(next(h for h in HOSTS if host_partition(h, 12) != mine))
