"""Hostile messages on the articles topic, on real Kafka and both real
engines: each one sits between two good articles on one partition, and the
real indexer (``run_indexer``) dead-letters it with its reason and input
position (or, a page date the engine cannot parse, indexes the article
without it) while every good article after it is indexed and the topic is
committed.

Already covered elsewhere, not repeated here:
- test_worker.py: test_invalid_messages_go_to_dead_letters_with_their_position
  (a non-JSON value, JSON of another contract, a tombstone, an id over 512
  bytes), test_documents_the_engine_rejects_go_to_dead_letters_with_the_engines_reason
  (a keyword over Lucene's term limit),
  test_a_mapping_conflict_goes_to_dead_letters_with_the_engines_error_type_and_reason
  (an index whose `source` field is a number);
- tests/indexer/alerts/test_indexer_alerts.py:
  test_a_document_the_engine_cannot_percolate_costs_only_its_own_alerts;
- tests/ingest/test_worker.py: an Article too large for Kafka never reaches
  this topic (the ingest worker dead-letters it).
"""
from __future__ import annotations

import json
import re

from kafka import KafkaProducer

from indexer.worker import group_id, run_indexer
from ingest.kafka_io import encode
from ingest.models import DeadLetter
from tests.indexer.support import fully_committed, make_article, read_dead_letters
from tests.ingest.pages import article_html, fetched_page


def _article_json(n: int, **changes: object) -> bytes:
    data = json.loads(encode(make_article(n)))
    data.update(changes)
    return json.dumps(data).encode()


# The contract takes any offset Python's datetime takes (under 24 h); the
# engines' java.time takes at most 18 h.
PAST_18_HOURS = "2025-03-01T12:00:00+20:00"
# an article with a malformed page date is indexed without it (the mapping
# ignores malformed published_at and modified_at: page dates come from the wild)
BAD_PAGE_DATE = make_article(106)

# (case, message value, dead-letter reason or None for "indexed", a phrase of its detail)
HOSTILE: list[tuple[str, bytes, str | None, str]] = [
    ("non_utf8_bytes", b"\xff\xfe\x00\x01\x80 binary junk", "invalid_message", "not a valid Article"),
    ("truncated_json", encode(make_article(101))[:120], "invalid_message", "not a valid Article"),
    ("json_array", b"[]", "invalid_message", "not a valid Article"),
    # JSON allows the escape, no text encoding can carry the character
    ("lone_surrogate", encode(make_article(102)).replace(b"Article number 102", b"Article \\ud800 102"),
     "invalid_message", "not a valid Article"),
    ("wrong_contract_version", _article_json(103, schema_version=1), "invalid_message", "not a valid Article"),
    ("page_on_the_articles_topic", encode(fetched_page(article_html())), "invalid_message", "not a valid Article"),
    ("not_an_article_class", _article_json(104, classification="not_article"), "invalid_message", "not a valid Article"),
    ("blank_id", _article_json(105, id="  "), "invalid_message", "empty id"),
    # past 64 bits the engines' JSON encoder refuses the whole bulk request
    ("count_past_64_bits", _article_json(108, word_count=2**70), "invalid_message", "not a valid Article"),
    ("negative_count", _article_json(109, furniture_removed=-1), "invalid_message", "not a valid Article"),
    ("page_date_the_engine_cannot_parse", _article_json(106, published_at=PAST_18_HOURS), None, ""),
    ("fetch_time_the_engine_cannot_parse", _article_json(107, fetched_at=PAST_18_HOURS), "index_rejected", "HTTP 400"),
]


def _produce(settings, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    try:
        for value in values:
            # one partition: each good article is read after the hostile one before it
            producer.send(settings.topic_articles, value=value, key=b"k", partition=0)
        producer.flush(30)
    finally:
        producer.close()


def test_each_hostile_message_on_the_articles_topic_is_dead_lettered_and_the_articles_after_it_are_indexed(
    engine, settings, alias
):
    good = [make_article(n) for n in range(len(HOSTILE) + 1)]
    values = [encode(good[0])]
    for n, (_name, value, _reason, _phrase) in enumerate(HOSTILE, start=1):
        values += [value, encode(good[n])]
    _produce(settings, values)
    dead = [case for case in HOSTILE if case[2] is not None]

    stats = run_indexer(settings, engine, until_end=True)

    assert (stats.records, stats.indexed, stats.dead_lettered, stats.stalls) == (
        len(values), len(values) - len(dead), len(dead), 0)
    letters: dict[int | None, DeadLetter] = {d.input_offset: d for d in read_dead_letters(settings, len(dead))}
    assert len(letters) == len(dead)
    for n, (name, _value, reason, phrase) in enumerate(HOSTILE, start=1):
        offset = 2 * n - 1  # good 0, hostile 1, good 2, hostile 3 ...
        if reason is None:
            assert offset not in letters, name
            continue
        letter = letters[offset]
        assert (letter.stage, letter.reason) == ("index", reason), (name, letter.detail)
        assert phrase in letter.detail, (name, letter.detail)
        assert (letter.input_topic, letter.input_partition) == (settings.topic_articles, 0), name
    rejected = letters[2 * len(HOSTILE) - 1]
    # the engine's own words: which field, and that it could not parse it
    assert "fetched_at" in rejected.detail and re.search(r"(mapper|document)_parsing_exception", rejected.detail)
    assert rejected.url == make_article(107).url
    engine.refresh(alias)
    assert engine.count(alias) == len(good) + 1
    assert all(engine.get(alias, article.id) is not None for article in [*good, BAD_PAGE_DATE])
    assert fully_committed(settings, group_id(settings, engine))
