"""The ingest worker on a real Kafka broker: every page becomes exactly one
article or one dead letter, and offsets are committed only after that."""
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ingest.kafka_io import decode, encode
from ingest.models import Article, DeadLetter
from ingest.worker import run_ingest
from tests.ingest.pages import article_html, fetched_page


def _read_all(settings, topic, model):
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    out = [decode(r.value, model) for r in consumer]
    consumer.close()
    return out


def _produce(settings, values):
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    for value in values:
        # a tombstone (no value) needs a key to be sendable at all
        producer.send(settings.topic_pages, value=value, key=None if value is not None else b"gone")
    producer.flush()
    producer.close()


def test_good_pages_become_articles_and_bad_input_becomes_dead_letters(settings):
    good = fetched_page(article_html(), url="https://news.example/a.html")
    _produce(
        settings,
        [
            encode(good),
            encode(fetched_page(article_html(paragraphs=[]), url="https://news.example/empty.html")),
            encode(fetched_page(b"%PDF-1.4", url="https://news.example/r.pdf", content_type="application/pdf")),
            encode(fetched_page("<h1>Server error</h1>", url="https://news.example/500", status=500)),
            b"this is not a page",
            None,
        ],
    )

    stats = run_ingest(settings, until_end=True)

    assert stats.pages == 6
    assert stats.articles == 1
    articles = _read_all(settings, settings.topic_articles, Article)
    assert [a.fetched_url for a in articles] == ["https://news.example/a.html"]
    letters = _read_all(settings, settings.topic_dead_letters, DeadLetter)
    reasons = sorted((d.reason, d.url) for d in letters)
    assert reasons == [
        ("empty_extraction", "https://news.example/empty.html"),
        ("http_error", "https://news.example/500"),
        ("invalid_message", None),
        ("invalid_message", None),
        ("not_html", "https://news.example/r.pdf"),
    ]
    invalid = [d for d in letters if d.reason == "invalid_message"]
    assert {d.input_topic for d in invalid} == {settings.topic_pages}
    assert any(d.payload_excerpt == "this is not a page" for d in invalid)


def test_offsets_are_committed_after_the_batch_so_a_rerun_reads_nothing(settings):
    _produce(settings, [encode(fetched_page(article_html(), url=f"https://news.example/{i}.html")) for i in range(5)])
    assert run_ingest(settings, until_end=True).articles == 5

    again = run_ingest(settings, until_end=True)
    assert again.pages == 0

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=settings.ingest_group_id)
    parts = [TopicPartition(settings.topic_pages, p) for p in consumer.partitions_for_topic(settings.topic_pages)]
    ends = consumer.end_offsets(parts)
    committed = {tp: consumer.committed(tp) or 0 for tp in parts}
    consumer.close()
    assert committed == ends
