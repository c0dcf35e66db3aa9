"""Hostile messages on the pages topic, on real Kafka: each one sits between
two good pages on one partition, and the real ingest worker (``run_ingest``)
turns it into a dead letter with its reason and input position while every
good page after it is still published, and the whole topic is committed.

Already covered elsewhere, not repeated here:
- test_worker.py: test_good_pages_become_articles_and_bad_input_becomes_dead_letters
  (a non-JSON value, a tombstone, an HTTP 500, a PDF response, an empty page),
  test_an_article_too_large_for_kafka_becomes_a_dead_letter_and_the_stage_goes_on
  (an Article larger than kafka_max_message_bytes after extraction),
  test_a_batch_whose_articles_kafka_refuses_stays_uncommitted,
  test_each_kind_of_bad_page_is_dead_lettered_with_its_class_and_only_articles_go_on;
- test_hostile_pages.py: the page-level cases, through the same extraction call.
"""
from __future__ import annotations

import json

from kafka import KafkaProducer

from ingest.kafka_io import encode
from ingest.models import DEAD_LETTER_DETAIL_CHARS, Article, DeadLetter
from ingest.worker import run_ingest
from tests.indexer.support import fully_committed, make_article, read_keyed
from tests.ingest.pages import PARAGRAPHS, article_html, fetched_page, zstd_bomb


def _good(n: int) -> bytes:
    url = f"https://good.example/news/{n}.html"
    html = article_html([f"{p} (الخبر {n})" for p in PARAGRAPHS], title=f"الخبر رقم {n}", canonical=url)
    return encode(fetched_page(html, url=url))


def _page_json(**changes: object) -> bytes:
    """A good page message with some of its JSON fields changed."""
    data = json.loads(encode(fetched_page(article_html(), url="https://hostile.example/news/1.html")))
    data.update(changes)
    return json.dumps(data).encode()


def _with_body(body_zstd: bytes, url: str) -> bytes:
    return encode(fetched_page(b"", url=url).model_copy(update={"body_zstd": body_zstd}))


def _nested(url: str) -> bytes:
    nested = "<div>" * 100_000 + PARAGRAPHS[0] + "</div>" * 100_000
    return encode(fetched_page(article_html([nested, *PARAGRAPHS[1:]]), url=url))


def _hostile() -> list[tuple[str, bytes, str, str]]:
    """(case, message value, dead-letter reason, a phrase of its detail);
    built by the test, not at import: the bomb takes a moment to compress."""
    return [
        ("non_utf8_bytes", b"\xff\xfe\x00\x01\x80 binary junk", "invalid_message", "not a valid FetchedPage"),
        ("truncated_json", _good(99)[:300], "invalid_message", "not a valid FetchedPage"),
        ("json_array", b"[]", "invalid_message", "not a valid FetchedPage"),
        ("json_null", b"null", "invalid_message", "not a valid FetchedPage"),
        ("wrong_schema", b'{"url": "https://hostile.example/", "text": "hello"}', "invalid_message", "error(s)"),
        ("wrong_contract_version", _page_json(schema_version=2), "invalid_message", "not a valid FetchedPage"),
        ("article_on_the_pages_topic", encode(make_article(1)), "invalid_message", "not a valid FetchedPage"),
        ("body_not_base64", _page_json(body_zstd="%%% not base64 %%%"), "invalid_message", "base64"),
        ("naive_fetch_time", _page_json(fetched_at="2024-03-05T09:00:00"), "invalid_message", "timezone"),
        # urlsplit refuses it: the worker used to die on it, every restart again
        ("unsplittable_url", _page_json(url="http://[::1/x", final_url="http://[::1/x"), "invalid_message", "not a URL"),
        ("truncated_zstd_body", _with_body(fetched_page(article_html()).body_zstd[:-20],
                                           "https://hostile.example/truncated"), "undecodable", "ZstdError"),
        ("zstd_bomb", _with_body(zstd_bomb(64 << 20, declared=True), "https://hostile.example/bomb"), "too_large",
         "limit"),
        ("nested_100000_deep", _nested("https://hostile.example/nested"), "extraction_failed",
         "stopped before the end of the page"),
        # quoted by the dead letter's detail, which the contract clips
        ("content_type_of_300_kb", encode(fetched_page(b"%PDF-1.4", url="https://hostile.example/header",
                                                       content_type="application/pdf; x=" + "y" * 300_000)),
         "not_html", "application/pdf"),
    ]


def _produce(settings, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                             max_request_size=2 * settings.kafka_max_message_bytes)
    try:
        for value in values:
            # one partition: each good page is read after the hostile one before it; no key
            producer.send(settings.topic_pages, value=value, partition=0)
        producer.flush(30)
    finally:
        producer.close()


def _read(settings, topic: str, model: type, expected: int) -> list:
    return [message for _key, message in read_keyed(settings, topic, model, expected, timeout_s=30)]


def test_each_hostile_message_on_the_pages_topic_is_dead_lettered_and_the_pages_after_it_are_published(settings):
    hostile = _hostile()
    values = [_good(0)]
    for n, (_name, value, _reason, _phrase) in enumerate(hostile, start=1):
        values += [value, _good(n)]
    _produce(settings, values)

    stats = run_ingest(settings, until_end=True)

    assert stats.pages == len(values)
    articles: list[Article] = _read(settings, settings.topic_articles, Article, len(hostile) + 1)
    assert sorted(a.fetched_url for a in articles) == sorted(
        f"https://good.example/news/{n}.html" for n in range(len(hostile) + 1))
    letters: dict[int | None, DeadLetter] = {
        d.input_offset: d for d in _read(settings, settings.topic_dead_letters, DeadLetter, len(hostile))}
    assert len(letters) == len(hostile)
    for n, (name, _value, reason, phrase) in enumerate(hostile, start=1):
        letter = letters[2 * n - 1]  # offsets: good 0, hostile 1, good 2, hostile 3 ...
        assert (letter.stage, letter.reason) == ("ingest", reason), (name, letter.detail)
        assert phrase in letter.detail, (name, letter.detail)
        assert (letter.input_topic, letter.input_partition) == (settings.topic_pages, 0), name
        assert len(letter.detail) <= DEAD_LETTER_DETAIL_CHARS, name
        if reason == "invalid_message":
            assert letter.payload_excerpt is not None, name
        else:
            assert letter.url and letter.url.startswith("https://hostile.example/"), name
    assert fully_committed(settings, settings.ingest_group_id, settings.topic_pages)

