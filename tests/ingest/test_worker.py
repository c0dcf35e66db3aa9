"""The ingest worker on a real Kafka broker: every page becomes exactly one
article or one dead letter, and offsets are committed only after that."""
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from ingest.kafka_connection import kafka_client_kwargs
from ingest.kafka_io import decode, encode
from ingest.models import Article, DeadLetter
from ingest.worker import run_ingest
from tests.ingest.pages import PARAGRAPHS, article_html, fetched_page


def _read_all(settings, topic, model):
    consumer = KafkaConsumer(
        topic,
        **kafka_client_kwargs(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    out = [decode(r.value, model) for r in consumer]
    consumer.close()
    return out


def _produce(settings, values):
    producer = KafkaProducer(**kafka_client_kwargs(settings))
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

    consumer = KafkaConsumer(**kafka_client_kwargs(settings), group_id=settings.ingest_group_id)
    parts = [TopicPartition(settings.topic_pages, p) for p in consumer.partitions_for_topic(settings.topic_pages)]
    ends = consumer.end_offsets(parts)
    committed = {tp: consumer.committed(tp) or 0 for tp in parts}
    consumer.close()
    assert committed == ends


def _committed(settings):
    consumer = KafkaConsumer(**kafka_client_kwargs(settings), group_id=settings.ingest_group_id)
    parts = [TopicPartition(settings.topic_pages, p) for p in consumer.partitions_for_topic(settings.topic_pages)]
    committed = {tp: consumer.committed(tp) for tp in parts}
    consumer.close()
    return committed


def test_an_article_too_large_for_kafka_becomes_a_dead_letter_and_the_stage_goes_on(settings):
    small = settings.model_copy(update={"kafka_max_message_bytes": 8_000})
    long_page = fetched_page(article_html(PARAGRAPHS * 12), url="https://news.example/long.html")
    assert len(encode(long_page)) < 8_000, "the page itself fits; only its article would not"
    _produce(small, [encode(long_page), encode(fetched_page(article_html(), url="https://news.example/ok.html"))])

    stats = run_ingest(small, until_end=True)

    assert stats.dead_letters == {"too_large": 1} and stats.articles == 1
    letters = _read_all(small, small.topic_dead_letters, DeadLetter)
    assert [(d.reason, d.url) for d in letters] == [("too_large", "https://news.example/long.html")]
    assert run_ingest(small, until_end=True).pages == 0, "both pages were committed"


def test_a_batch_whose_articles_kafka_refuses_stays_uncommitted(settings):
    # The articles topic accepts only tiny messages: the broker refuses the
    # article, the flush fails, and the page must be read again next time.
    admin = KafkaAdminClient(**kafka_client_kwargs(settings))
    tiny = settings.model_copy(update={"topic_articles": settings.topic_articles + ".tiny"})
    admin.create_topics([NewTopic(tiny.topic_articles, 1, 1, topic_configs={"max.message.bytes": "200"})])
    admin.close()
    _produce(tiny, [encode(fetched_page(article_html(), url="https://news.example/a.html"))])

    with pytest.raises(RuntimeError, match="Kafka send"):
        run_ingest(tiny, until_end=True)

    assert all(offset is None for offset in _committed(tiny).values())


PROMO = "احصل على خصم 30% على باقات الإنترنت المنزلي عند الاشتراك هذا الشهر. العرض ساري حتى نفاد الكمية."
NEWSLETTER = "اشترك في نشرتنا البريدية اليومية لتصلك أهم أخبار المنطقة كل صباح مجانا."


def _site_page(n, paragraphs):
    """Page ``n`` of one site: its own story, with the site's promotion lines."""
    url = f"https://news.example/news/{n}.html"
    html = article_html(paragraphs, title=f"عنوان الخبر رقم {n} عن المحادثات", canonical=url)
    return fetched_page(html, url=url)


def _story(n):
    return [f"{p} وهذا ما أكده المتحدث في البيان رقم {n}." for p in PARAGRAPHS]


def test_lines_a_site_repeats_on_its_pages_leave_the_bodies_of_later_pages(settings):
    pages = [_site_page(n, [_story(n)[0], PROMO, *_story(n)[1:], NEWSLETTER]) for n in range(1, 7)]
    # a page that is little more than the site's repeated lines
    thin = _site_page(7, [PROMO, "خبر قصير جدا عن الطقس.", NEWSLETTER, PROMO.replace("30%", "30 %")])
    _produce(settings, [encode(p) for p in pages])
    first = run_ingest(settings, until_end=True)
    _produce(settings, [encode(thin)])
    second = run_ingest(settings, until_end=True)

    assert first.articles == 6 and second.pages == 1
    bodies = {a.fetched_url: a.body for a in _read_all(settings, settings.topic_articles, Article)}
    for n in (5, 6):
        body = bodies[f"https://news.example/news/{n}.html"]
        assert PROMO not in body and NEWSLETTER not in body
        assert body.split("\n") == _story(n), "the story's own paragraphs stay, in order"
    assert first.boilerplate_lines >= 4
    letters = _read_all(settings, settings.topic_dead_letters, DeadLetter)
    assert [(d.reason, d.url) for d in letters] == [("empty_extraction", "https://news.example/news/7.html")]
    assert "site boilerplate" in letters[0].detail


def test_an_unreachable_search_engine_does_not_stop_ingest(settings):
    down = settings.model_copy(update={"search_url": "http://127.0.0.1:9"})
    _produce(down, [encode(_site_page(n, [_story(n)[0], PROMO, *_story(n)[1:]])) for n in range(1, 7)])

    stats = run_ingest(down, until_end=True)

    assert stats.articles == 6 and stats.boilerplate_lines == 0
    articles = _read_all(down, down.topic_articles, Article)
    assert len(articles) == 6 and all(PROMO in a.body for a in articles)
    assert run_ingest(down, until_end=True).pages == 0, "the batch was committed"


def _group_members(settings, group: str) -> int:
    admin = KafkaAdminClient(**kafka_client_kwargs(settings))
    try:
        described = admin.describe_groups([group]).get(group) or {}
    finally:
        admin.close()
    return len(described.get("members") or []) if described.get("group_state") == "Stable" else 0


def test_two_workers_at_once_put_a_republished_story_in_one_cluster_and_other_stories_in_their_own(settings):
    import threading
    import time

    from deploy.cluster_corpus import DUPLICATE_OF, EXACT_DUPLICATE, TOPIC_STORIES, WIRE_STORY, pages
    from ingest.identity import document_id

    stop = threading.Event()
    workers = [threading.Thread(target=run_ingest, args=(settings,), kwargs={"stop": stop}) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        deadline = time.monotonic() + 60
        while _group_members(settings, settings.ingest_group_id) < 2:
            assert time.monotonic() < deadline, "the two ingest workers never formed a group"
            time.sleep(0.2)
        corpus = pages()
        producer = KafkaProducer(**kafka_client_kwargs(settings))
        # each copy of the wire story on its own partition: the two workers
        # (one owns two partitions, the other one) decide at the same time
        for i, p in enumerate(corpus):
            page = fetched_page(p.html, url=p.url, content_type="text/html").model_copy(update={"source": p.source})
            producer.send(settings.topic_pages, value=encode(page), partition=i % 3)
        producer.flush()
        producer.close()
        articles = _read_until(settings, len(corpus))
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=60)
    by_url = {a.fetched_url: a for a in articles}
    story_of = {p.url: p.story for p in corpus}
    name_of = {p.url: p.name for p in corpus}
    clusters = {story: {by_url[url].cluster_id for url, s in story_of.items() if s == story} for story in set(story_of.values())}
    assert len(clusters[WIRE_STORY]) == 1 and None not in clusters[WIRE_STORY]
    assert all(len(clusters[s]) == 1 for s in TOPIC_STORIES)
    assert len({next(iter(c)) for c in clusters.values()}) == 1 + len(TOPIC_STORIES)
    # the cluster id is one of its members' ids (the first seen), and of the
    # two pages with the same text the one seen second names the first
    assert next(iter(clusters[WIRE_STORY])) in {a.id for a in articles if story_of[a.fetched_url] == WIRE_STORY}
    copy = next(a for a in articles if name_of[a.fetched_url] == EXACT_DUPLICATE)
    original = next(a for a in articles if name_of[a.fetched_url] == DUPLICATE_OF)
    assert copy.content_hash == original.content_hash
    assert {copy.duplicate_of, original.duplicate_of} in ({original.id, None}, {copy.id, None})
    assert original.id == document_id(original.url)
    assert all(a.duplicate_of is None for a in articles if a not in (copy, original))


def _read_until(settings, expected: int, timeout_s: float = 90.0) -> list[Article]:
    import time

    consumer = KafkaConsumer(settings.topic_articles, **kafka_client_kwargs(settings),
                             auto_offset_reset="earliest", enable_auto_commit=False)
    out: list[Article] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                out.extend(decode(r.value, Article) for r in records)
    finally:
        consumer.close()
    assert len(out) == expected, f"{len(out)} articles of {expected}"
    return out


BAD_PAGES = __import__("pathlib").Path(__file__).parent / "bad_pages"

# page -> (dead-letter reason, class in the extraction log); the article
# pages among them (a paywall flag over the full text, galleries and videos
# inside a story, broken markup) must come out as articles
BAD_INPUT = {
    "ar-tag-page-elections.html": ("not_article", "not_article"),
    "ar-section-index-politics.html": ("not_article", "not_article"),
    "ar-photo-gallery-album.html": ("not_article", "not_article"),
    "ar-video-page.html": ("not_article", "not_article"),
    "ar-paywalled-teaser.html": ("not_article", "not_article"),
    "ar-nextjs-shell.html": ("empty_extraction", "empty"),
    "ar-cookie-banner-only.html": ("empty_extraction", "empty"),
    "png-served-as-html.html": ("not_html", "not_article"),
    "pdf-served-as-html.html": ("not_html", "not_article"),
    "ar-paywall-flag-full-article.html": (None, "article"),
    "ar-article-with-gallery-and-video.html": (None, "article"),
    "ar-broken-html-article.html": (None, "article"),
}


def test_each_kind_of_bad_page_is_dead_lettered_with_its_class_and_only_articles_go_on(settings):
    from ingest.engines.detect import open_configured_client

    urls = {name: f"https://bad.example/{name.removesuffix('.html')}" for name in BAD_INPUT}
    pages = [fetched_page((BAD_PAGES / name).read_bytes(), url=urls[name], content_type="text/html")
             for name in BAD_INPUT]
    huge = fetched_page(article_html(PARAGRAPHS * 40), url="https://bad.example/huge")
    small = settings.model_copy(update={"crawl_max_page_bytes": 20_000})
    _produce(small, [encode(p) for p in [*pages, huge]])

    stats = run_ingest(small, until_end=True)

    assert stats.pages == len(BAD_INPUT) + 1
    letters = {d.url: d for d in _read_all(settings, settings.topic_dead_letters, DeadLetter)}
    articles = {a.fetched_url for a in _read_all(settings, settings.topic_articles, Article)}
    for name, (reason, _class) in BAD_INPUT.items():
        if reason is None:
            assert urls[name] in articles, name
        else:
            assert letters[urls[name]].reason == reason, (name, letters[urls[name]].detail)
            assert letters[urls[name]].detail
    assert letters["https://bad.example/huge"].reason == "too_large"
    # every page, article or not, is counted per source for `rasd sources health`
    client = open_configured_client(settings)
    try:
        client.refresh_index(settings.extraction_log_index)
        hits = client.search_raw(settings.extraction_log_index, {"size": 100})["hits"]["hits"]
    finally:
        client.close()
    classes = {h["_source"]["url"]: h["_source"]["classification"] for h in hits}
    assert classes == {**{urls[n]: c for n, (_r, c) in BAD_INPUT.items()}, "https://bad.example/huge": "too_large"}


def test_a_worker_joining_mid_run_takes_partitions_over_without_a_page_extracted_twice(settings):
    """The second worker's join rebalances the group while the first is in
    the middle of its batches (the engine answers its stores' writes slowly,
    so a batch is always in flight): the first commits that batch (its
    transaction) before it hands the partitions over, so the newcomer starts
    where it ended. Every page becomes one article, and the two workers
    together extract each page once: no batch is aborted and done again."""
    import threading
    import time

    from ingest.worker import IngestStats
    from tests.indexer.support import BulkHoldingProxy

    total = 72
    slow_engine = BulkHoldingProxy(settings.search_url, hold_s=0.3)
    small = settings.model_copy(update={"batch_max_records": 6, "search_url": slow_engine.url})
    producer = KafkaProducer(**kafka_client_kwargs(small))
    for i in range(total):
        html = article_html([f"{p} (الرقم {i})" for p in PARAGRAPHS], title=f"محادثات جديدة رقم {i}", canonical=None)
        producer.send(small.topic_pages, value=encode(fetched_page(html, url=f"https://news.example/news/{i}.html")),
                      partition=i % 3)
    producer.flush()
    producer.close()
    stop = threading.Event()
    stats = [IngestStats(), IngestStats()]
    errors: list[BaseException] = []

    def work(s: IngestStats) -> None:
        try:
            run_ingest(small, stop=stop, stats=s)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(s,)) for s in stats]
    workers[0].start()
    try:
        deadline = time.monotonic() + 60
        while stats[0].pages < total // 4 and not errors:
            assert time.monotonic() < deadline, "the first worker never got going"
            time.sleep(0.05)
        workers[1].start()
        articles = _read_until(small, total)
        deadline = time.monotonic() + 30
        while stats[0].pages + stats[1].pages < total and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=60)
        slow_engine.close()
    assert errors == []
    assert sorted(a.fetched_url for a in articles) == sorted(f"https://news.example/news/{i}.html" for i in range(total))
    assert stats[1].pages > 0, "the second worker never got partitions"
    assert stats[0].pages + stats[1].pages == total  # no batch extracted twice
