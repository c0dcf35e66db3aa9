"""Story clusters: signatures on the fixture corpus (pure), and the shared
store on a real OpenSearch: one cluster per story, stable ids, workers that
restart or run at the same time agreeing, an unreachable engine."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from deploy.cluster_corpus import DUPLICATE_OF, EXACT_DUPLICATE, TOPIC_STORIES, WIRE_COPIES, by_story, page, pages
from ingest.arabic import normalize_arabic
from ingest.clusters import (
    BANDS,
    CANDIDATES,
    ClusterInput,
    ClusterStore,
    StoryClusters,
    _Doc,
    band_keys,
    content_hash,
    shingles,
    signature,
    similarity,
)
from ingest.engines.client import VendorClient
from ingest.engines.connection import EngineConnection
from ingest.engines.detect import open_client
from ingest.engines.opensearch import OpenSearchClient
from ingest.identity import document_id
from ingest.settings import Settings

THRESHOLD = Settings().cluster_threshold
TOPIC_PAGES = ("topic_inflation_alwasat", "topic_imf_nabd", "topic_tbills_mirsad")


def cluster_input(name: str, text: str | None = None) -> ClusterInput:
    p = page(name)
    norm = normalize_arabic(p.text if text is None else text)
    return ClusterInput(id=document_id(p.url), url=p.url, source=p.source, text_norm=norm,
                        content_hash=content_hash(norm))


def sig(name: str):
    return signature(normalize_arabic(page(name).text))


# -- the corpus -------------------------------------------------------------


def test_the_corpus_has_one_wire_story_on_three_sites_a_duplicate_and_three_topic_stories():
    all_pages = pages()
    assert len({p.url for p in all_pages}) == len(all_pages)
    wire = by_story("cbe-rates-hold")
    assert [p.name for p in wire] == [*WIRE_COPIES, EXACT_DUPLICATE]
    assert len({p.source for p in wire}) == 4
    assert len({p.headline for p in wire}) == 4, "every outlet writes its own headline"
    assert page(EXACT_DUPLICATE).text == page(DUPLICATE_OF).text
    assert page(EXACT_DUPLICATE).url != page(DUPLICATE_OF).url
    texts = {page(n).text for n in WIRE_COPIES}
    assert len(texts) == 3, "the republished copies are edited"
    assert len(page("wire_nabd").text.split("\n")) == len(page("wire_alwasat").text.split("\n")) + 1
    for story in TOPIC_STORIES:
        assert len(by_story(story)) == 1
    for p in all_pages:
        assert b'dir="rtl"' in p.html and b"footer" in p.html
        assert len(p.text.split("\n")) >= 6
        for paragraph in p.text.split("\n"):
            assert paragraph in p.html.decode("utf-8")
        assert p.headline not in p.text


# -- signatures (no engine) ---------------------------------------------------


def test_moving_sentences_and_paragraphs_changes_no_shingle():
    text = normalize_arabic(page("wire_alwasat").text)
    paragraphs = text.split("\n")
    moved = "\n".join(reversed(paragraphs))
    swapped = paragraphs[1].split(". ")
    assert len(swapped) == 2
    moved_sentences = "\n".join([*paragraphs[:1], f"{swapped[1]} {swapped[0]}.", *paragraphs[2:]])
    assert shingles(moved) == shingles(text)
    assert shingles(moved_sentences) == shingles(text)


def test_shingles_ignore_case_punctuation_and_keep_decimals():
    assert shingles("Rates held at 21.25 PER cent, said the bank.") == shingles("rates held at 21.25 per cent said the bank")
    assert "21 25 per" in shingles("rates held at 21.25 per cent")
    assert shingles("عاجل") == {"عاجل"}
    assert shingles(" \n ،. ") == set()
    assert signature("، .") is None


def test_the_edited_copies_estimate_above_the_threshold_and_share_bands(capsys):
    first = sig("wire_alwasat")
    for name in ("wire_nabd", "wire_mirsad", EXACT_DUPLICATE):
        other = sig(name)
        estimate = similarity(first, other)
        shared = set(band_keys(first)) & set(band_keys(other))
        print(f"wire_alwasat ~ {name}: estimated Jaccard {estimate:.3f}, {len(shared)}/{BANDS} bands shared")
        assert estimate >= THRESHOLD + 0.1
        assert shared, "an LSH candidate"
    assert similarity(sig("wire_nabd"), sig("wire_mirsad")) >= THRESHOLD + 0.1
    assert similarity(first, sig(EXACT_DUPLICATE)) == 1.0


def test_different_stories_on_the_same_topic_estimate_far_below_the_threshold():
    names = ["wire_alwasat", *TOPIC_PAGES]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            estimate = similarity(sig(a), sig(b))
            print(f"{a} ~ {b}: estimated Jaccard {estimate:.3f}")
            assert estimate < THRESHOLD / 5
    # they do share the topic's vocabulary: the words, not the sentences
    words = [set(normalize_arabic(page(n).text).split()) for n in names]
    assert all(len(words[0] & w) >= 20 for w in words[1:])


def test_band_keys_depend_on_the_band_and_content_hash_on_the_text():
    keys = band_keys(sig("wire_alwasat"))
    assert len(keys) == BANDS == len(set(keys))
    assert band_keys(sig("wire_alwasat")) == keys, "deterministic across calls (and processes: no hash())"
    assert content_hash("نص") == content_hash("نص") != content_hash("نص آخر")
    assert len(content_hash("نص")) == 64


def _per_pair_matches(doc: _Doc, known: dict[str, _Doc]) -> list[tuple[str, float, bool]]:
    """The definition, one pair at a time: the same text, or a shared band
    and an estimated similarity at the threshold or above."""
    out = []
    for other in known.values():
        if other.id == doc.id or other.sig is None or doc.sig is None:
            continue
        if other.content_hash == doc.content_hash:
            out.append((other.id, 1.0, True))
        elif set(band_keys(doc.sig)) & set(band_keys(other.sig)) and similarity(doc.sig, other.sig) >= THRESHOLD:
            out.append((other.id, round(similarity(doc.sig, other.sig), 6), False))
    return sorted(out)


def test_batch_matching_finds_exactly_the_pairs_the_definition_names():
    """Every corpus page, edited copies of the wire story (its start cut off,
    a tenth more each time, so the similarity crosses the threshold), exact copies under
    other ids and a text without words, matched in blocks smaller than the
    batch: the numpy matcher names the same pairs as the per-pair rule."""
    texts = {p.name: normalize_arabic(p.text) for p in pages()}
    words = texts["wire_alwasat"].split(" ")
    cuts = (1, 3, 5, 7, 9)
    for cut in cuts:
        texts[f"cut{cut}"] = " ".join(words[len(words) * cut // 10 :])
    texts["copy1"] = texts["copy2"] = texts["wire_nabd"]
    texts["empty"] = "، ."
    docs = []
    for name, text in texts.items():
        s = signature(text)
        docs.append(_Doc(id=name, sig=s,
                         content_hash=content_hash(text)))
    known = {d.id: d for d in docs}
    store = ClusterStore.__new__(ClusterStore)  # matching needs no engine
    store.threshold = THRESHOLD
    import ingest.clusters as clusters

    original = clusters.MATCH_CELLS
    clusters.MATCH_CELLS = BANDS * len(docs) * 3  # blocks of 3 documents
    try:
        found = store._matches(docs, known)
    finally:
        clusters.MATCH_CELLS = original
    for doc in docs:
        got = sorted((m.doc.id, round(m.similarity, 6), m.same_text) for m in found[doc.id])
        assert got == _per_pair_matches(doc, known), doc.id
    assert {m.doc.id for m in found["copy1"]} >= {"copy2", "wire_nabd"}
    assert found["empty"] == []
    near = [m for m in found["cut1"] if not m.same_text]
    assert near and all(m.similarity >= THRESHOLD for m in near)
    to_original = [any(m.doc.id == "wire_alwasat" for m in found[f"cut{c}"]) for c in cuts]
    assert to_original[0] and not to_original[-1], "the cuts cross the threshold"


# -- the shared store (real OpenSearch) ----------------------------------------


@pytest.fixture
def indices(settings: Settings) -> list[str]:
    """The cluster indices a test uses; the ``client`` fixture deletes them."""
    return [settings.cluster_index]


@pytest.fixture
def client(opensearch_url: str, indices: list[str]) -> Iterator[VendorClient]:
    client = open_client(opensearch_url, timeout_s=30.0)
    yield client
    for index in indices:
        if client.index_exists(index):
            client.delete_index(index)
    client.close()


def test_the_same_story_republished_on_three_sites_is_one_cluster(settings, client, capsys):
    clusters = StoryClusters(settings, client)
    got = [clusters.assign([cluster_input(name)])[0] for name in WIRE_COPIES]
    first = document_id(page(WIRE_COPIES[0]).url)
    assert [a.cluster_id for a in got] == [first] * 3
    assert [a.first_seen for a in got] == [True, False, False]
    assert got[0].similarity is None
    for name, a in zip(WIRE_COPIES[1:], got[1:]):
        print(f"{name} joined {WIRE_COPIES[0]} at estimated Jaccard {a.similarity}")
        assert a.similarity is not None and a.similarity >= THRESHOLD
        assert a.duplicate_of is None
    clusters.close()


def test_the_index_refreshes_only_when_asked_also_when_an_earlier_version_created_it(settings, client):
    from ingest.clusters import INDEX_BODY

    # as an earlier version created it: refreshed every second
    client.create_index(settings.cluster_index, {**INDEX_BODY, "settings": {"number_of_shards": 1,
                                                                              "number_of_replicas": 0}})
    assert "refresh_interval" not in client.get_index_settings(settings.cluster_index)
    first = StoryClusters(settings, client)
    assert first.assign([cluster_input(WIRE_COPIES[0])])[0].first_seen
    assert client.get_index_settings(settings.cluster_index)["refresh_interval"] == "-1"
    # another worker's search finds the article at once, with no periodic refresh
    second = StoryClusters(settings, client)
    joined = second.assign([cluster_input(WIRE_COPIES[1])])[0]
    assert joined.cluster_id == document_id(page(WIRE_COPIES[0]).url) and not joined.first_seen
    first.close()
    second.close()


def test_one_batch_is_decided_in_order_so_later_items_join_earlier_ones(settings, client):
    clusters = StoryClusters(settings, client)
    batch = [cluster_input(n) for n in (*WIRE_COPIES, EXACT_DUPLICATE, *TOPIC_PAGES)]
    got = clusters.assign(batch)
    first = batch[0].id
    assert [a.cluster_id for a in got[:4]] == [first] * 4
    assert [a.first_seen for a in got] == [True, False, False, False, True, True, True]
    assert got[3].duplicate_of == first and got[3].similarity == 1.0
    assert [a.cluster_id for a in got[4:]] == [i.id for i in batch[4:]]


def test_same_topic_stories_are_three_clusters_and_the_exact_duplicate_joins_the_first(settings, client):
    clusters = StoryClusters(settings, client)
    wire = clusters.assign([cluster_input(n) for n in WIRE_COPIES])
    topic = [clusters.assign([cluster_input(n)])[0] for n in TOPIC_PAGES]
    assert len({a.cluster_id for a in topic}) == 3
    assert all(a.first_seen and a.duplicate_of is None for a in topic)
    assert wire[0].cluster_id not in {a.cluster_id for a in topic}
    duplicate = clusters.assign([cluster_input(EXACT_DUPLICATE)])[0]
    assert duplicate.duplicate_of == document_id(page(DUPLICATE_OF).url)
    assert duplicate.cluster_id == wire[0].cluster_id
    assert duplicate.first_seen is False and duplicate.similarity == 1.0


def test_re_ingest_keeps_the_cluster_and_a_restarted_worker_sees_the_clusters(settings, client):
    clusters = StoryClusters(settings, client)
    nabd = cluster_input("wire_nabd")
    first = clusters.assign([nabd])[0]
    assert first.first_seen and first.cluster_id == nabd.id
    # re-extracted with another body: the article keeps its cluster
    again = clusters.assign([cluster_input("wire_nabd", text=page("topic_imf_nabd").text)])[0]
    assert again == first
    clusters.close()

    # a restarted worker: new process, new client, nothing in memory
    restarted = StoryClusters(settings.model_copy())
    try:
        got = restarted.assign([cluster_input("wire_alwasat"), cluster_input("wire_mirsad"), nabd])
        assert [a.cluster_id for a in got] == [nabd.id] * 3
        assert [a.first_seen for a in got] == [False, False, True]
        assert restarted.assign([cluster_input("wire_alwasat")]) == got[:1]
    finally:
        restarted.close()


def test_two_workers_at_the_same_time_agree_on_the_clusters(settings, client, indices):
    copies = {n: cluster_input(n) for n in WIRE_COPIES}
    duplicate = cluster_input(EXACT_DUPLICATE)
    topic = {n: cluster_input(n) for n in TOPIC_PAGES[:2]}
    for round_no in range(6):
        index = f"{settings.cluster_index}-r{round_no}"
        round_settings = settings.model_copy(update={"cluster_index": index})
        indices.append(index)
        # the index exists before the race: both workers' first call is the protocol, not index creation
        ClusterStore(client, round_settings).ensure()
        a_batch = [copies["wire_alwasat"], topic["topic_inflation_alwasat"], duplicate]
        b_batch = [copies["wire_nabd"], copies["wire_mirsad"], topic["topic_imf_nabd"]]
        if round_no % 2:
            a_batch, b_batch = b_batch, a_batch
        # separate workers: each opens its own client (StoryClusters without one)
        workers = [StoryClusters(round_settings) for _ in range(2)]
        barrier = threading.Barrier(2)
        results: dict[int, list] = {}
        errors: list[BaseException] = []

        def run(n: int, batch: list[ClusterInput]) -> None:
            try:
                barrier.wait(timeout=30)
                results[n] = workers[n].assign(batch)
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(n, b)) for n, b in enumerate((a_batch, b_batch))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors and len(results) == 2
        got = {item.id: a for batch, n in ((a_batch, 0), (b_batch, 1)) for item, a in zip(batch, results[n])}

        wire_ids = [c.id for c in copies.values()] + [duplicate.id]
        wire_clusters = {got[i].cluster_id for i in wire_ids}
        assert len(wire_clusters) == 1 and None not in wire_clusters, f"round {round_no}: {got}"
        (cluster,) = wire_clusters
        # the first member is the copy the engine ordered first
        stored = {e["_id"]: e["_source"] for e in client.mget_raw(index, wire_ids) if e.get("found")}
        earliest = min(wire_ids, key=lambda i: (stored[i]["order"], stored[i]["pos"], i))
        assert cluster == earliest
        assert [i for i in wire_ids if got[i].first_seen] == [earliest]
        assert got[duplicate.id].duplicate_of == copies["wire_alwasat"].id
        for t in topic.values():
            assert got[t.id].cluster_id == t.id and got[t.id].first_seen
        # both workers read the same stored decisions afterwards
        for worker in workers:
            again = worker.assign([*copies.values(), duplicate, *topic.values()])
            assert [a.cluster_id for a in again] == [got[i.id].cluster_id for i in (*copies.values(), duplicate,
                                                                                     *topic.values())]
            worker.close()
        client.delete_index(index)


def test_a_worker_that_stalls_after_ordering_is_decided_for_by_the_next(settings, client, monkeypatch):
    monkeypatch.setattr(ClusterStore, "wait_s", 0.5)
    stalled = ClusterStore(client, settings)
    stalled.ensure()
    # worker 1 creates and orders copy 1, then stalls before deciding it
    first = cluster_input("wire_alwasat")
    s1 = signature(first.text_norm)
    doc = _Doc(id=first.id, sig=s1, content_hash=first.content_hash)
    stalled._create([(first, doc)])
    stalled._stamp([doc], refresh_first=False)

    got = StoryClusters(settings, client).assign([cluster_input("wire_nabd")])[0]
    assert got.cluster_id == first.id and not got.first_seen
    # worker 1 resumes: its own decision loses to the one written for it, and agrees
    stalled._decide([doc])
    assert doc.cluster_id == first.id
    assert StoryClusters(settings, client).assign([first])[0].first_seen


def test_a_worker_that_stalls_before_ordering_is_ordered_after_the_next(settings, client, monkeypatch):
    monkeypatch.setattr(ClusterStore, "wait_s", 0.5)
    stalled = ClusterStore(client, settings)
    stalled.ensure()
    first = cluster_input("wire_alwasat")
    s1 = signature(first.text_norm)
    doc = _Doc(id=first.id, sig=s1, content_hash=first.content_hash)
    stalled._create([(first, doc)])  # ... and nothing more: the worker died

    second = cluster_input("wire_nabd")
    got = StoryClusters(settings, client).assign([second])[0]
    assert got.cluster_id == second.id and got.first_seen
    # the article comes back (its offset was not committed) and joins the story it was ordered after
    again = StoryClusters(settings, client).assign([first])[0]
    assert again.cluster_id == second.id and not again.first_seen


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_engine_gives_no_cluster_and_no_exception():
    url = f"http://127.0.0.1:{_closed_port()}"
    settings = Settings(search_url=url, cluster_index="unreachable-story-clusters", search_request_timeout_s=2.0)
    batch = [cluster_input(n) for n in WIRE_COPIES]

    unconnected = StoryClusters(settings)
    assert [a.cluster_id for a in unconnected.assign(batch)] == [None, None, None]
    unconnected.close()

    given = StoryClusters(settings, OpenSearchClient(EngineConnection(url, timeout_s=2.0), {"version": {"number": "3.0.0"}}))
    for _ in range(2):  # the second batch does not even try (reconnect delay)
        got = given.assign(batch)
        assert [(a.cluster_id, a.first_seen, a.similarity) for a in got] == [(None, False, None)] * 3
    given.close()


def test_articles_without_a_content_hash_are_not_duplicates_of_each_other(settings, client):
    batch = [ClusterInput(id=i.id, url=i.url, source=i.source, text_norm=i.text_norm, content_hash="")
             for i in (cluster_input(n) for n in TOPIC_PAGES)]
    got = StoryClusters(settings, client).assign(batch)
    assert [(a.cluster_id, a.duplicate_of) for a in got] == [(i.id, None) for i in batch]


def test_a_story_copied_many_times_is_looked_up_in_bounded_reads_and_joins_its_first_copy(settings, client):
    """Thirty stored copies of one text (every copy a candidate of the
    next): a new copy's lookup reads CANDIDATES of them, the earliest first
    among equals, and joins the first copy as its duplicate; the lookup does
    not grow with the store."""
    norm = normalize_arabic(page("wire_nabd").text)
    digest = content_hash(norm)

    def copy(i: int | str) -> ClusterInput:
        return ClusterInput(id=f"copy-{i}", url=f"https://copies.example/{i}", source="copies", text_norm=norm,
                            content_hash=digest)

    clusters = StoryClusters(settings, client)
    stored = [copy(f"{i:02d}") for i in range(3 * CANDIDATES)]
    for start in range(0, len(stored), 5):
        clusters.assign(stored[start : start + 5])
    newcomer = copy("new")
    store = ClusterStore(client, settings)
    found = store._candidates([_Doc(id=newcomer.id, sig=signature(norm), content_hash=digest)])
    assert sorted(found) == [f"copy-{i:02d}" for i in range(CANDIDATES)]
    got = clusters.assign([newcomer])[0]
    assert (got.cluster_id, got.duplicate_of, got.first_seen) == ("copy-00", "copy-00", False)
