"""The benchmarks' shared helpers: percentiles, and a run's topics and
indices dropped afterwards (by name: Elasticsearch refuses wildcard deletes)."""
from kafka import KafkaAdminClient

from indexer import mapping
from indexer.alerts.records import alerts_index_body
from indexer.engines.detect import open_engine
from ingest.kafka_connection import kafka_client_kwargs
from ingest.kafka_io import all_topics
from rasd.bench_runs import drop_run, percentile


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (50.0, 95.0, 100.0)
    assert percentile([3.0], 95) == 3.0


def test_a_runs_topics_indices_and_template_are_dropped_and_nothing_else(settings, opensearch_url):
    engine = open_engine(opensearch_url, timeout_s=60.0)
    neighbour = settings.alerts_index + "-neighbour"
    try:
        engine.ensure_index(settings.articles_alias)
        engine.create_index(f"{settings.rules_index}-0123456789", {"aliases": {settings.rules_index: {}}})
        engine.ensure_plain_index(settings.alerts_index, alerts_index_body())
        engine.ensure_plain_index(settings.crawl_status_index, {})
        engine.ensure_plain_index(neighbour, {})
        assert engine.index_template_exists(mapping.template_name(settings.articles_alias))

        drop_run(settings)

        for name in (settings.articles_alias, settings.rules_index, settings.alerts_index, settings.crawl_status_index):
            assert not engine.index_exists(name), name
        assert engine.index_exists(neighbour), "an index of someone else stays"
        admin = KafkaAdminClient(**kafka_client_kwargs(settings))
        try:
            assert not set(all_topics(settings)) & set(admin.list_topics())
        finally:
            admin.close()
        assert not engine.index_template_exists(mapping.template_name(settings.articles_alias))
    finally:
        if engine.index_exists(neighbour):
            engine.delete_index(neighbour)
        engine.close()


def test_dropping_a_run_that_left_nothing_is_fine(settings):
    drop_run(settings.namespaced("nothing-here"))
    drop_run(settings.namespaced("nothing-here"))
