"""Story clusters: the same story published by several outlets gets one
cluster id.

Exact duplicates share ``content_hash`` (sha256 of the normalized body).
Near-duplicates (a wire story republished with a new headline, an extra
paragraph, reordered sentences, a few words changed) are found with MinHash:
3-word shingles of each sentence of the normalized text, 128 permutations
(``datasketch``), and LSH banding into 42 bands of 3 rows. A pair sharing a
band is a candidate; it joins when the estimated Jaccard similarity reaches
``settings.cluster_threshold`` (or the content hashes are equal).

The banding is done here and the bands are stored in the search engine
because datasketch's ``MinHashLSH`` keeps its buckets in process memory,
Redis or Cassandra: the ingest workers already share the engine (see
``ingest.boilerplate``), restart and scale out, so one document per article
in ``settings.cluster_index`` (its band keys, its serialized MinHash, its
order and its cluster) is the shared index, and a query on the band keys is
the LSH lookup.

Protocol (no coordinator; every field below is written once, first writer
wins, by conditional writes, so every worker reads the same values):

1. The batch's articles are created (bulk, ``refresh=true``): from then on
   every search sees them. One that was stored before comes back as a
   conflict and is read instead: if decided, it keeps its cluster (stable
   across re-ingest and re-extraction).
2. Only then the batch takes its place in the total order: one write to a
   clock document returns the engine's ``_seq_no``, a counter the primary
   shard increments for every write, and the articles get
   ``order = that number, pos = their place in the batch``. Since the clock
   is read after the articles became searchable, an article ordered after
   another always finds it in step 3. (A timestamp from the worker's clock
   would not give that: a worker whose write is slow, or whose clock is
   behind, can put an earlier ``seen_at`` on an article the others have not
   seen yet. ``seen_at`` is kept, for people.)
3. One ``_msearch`` finds each new article's candidates: the stored
   articles sharing at least two of its bands or its content hash, the
   ``CANDIDATES`` sharing the most (the earliest first among equals), so a
   batch reads a bounded number of documents however old the store is;
   one realtime ``_mget`` reads them (their current versions).
   Each is verified by estimated Jaccard. Members found without an order
   (their worker is between steps 1 and 2, or the search's copy predates
   the order) are polled (realtime ``_mget``) until they have one.
4. In order, each new article: no earlier matching member -> first seen,
   ``cluster_id`` = its own id; otherwise it joins the cluster of its
   earliest earlier matching member (``duplicate_of``: the earliest one with
   the same content hash). A member still undecided is being decided by its
   worker right now: the decisions made so far are written first (that
   worker may be waiting for them), then it is polled.
5. The decisions are written conditionally (``if_seq_no``); a write that
   loses reads the winner's decision.

Waiting is bounded (``WAIT_S`` for a batch). A worker that stalls longer
does not block the others: a member without an order is ordered by the
waiter (after its own batch), an undecided earlier member is decided by the
waiter with the same rule, on its behalf; both are conditional writes, so
the stalled worker finds them and adopts them. What remains:

- The decision rule is applied in order, so "earliest matching member" is
  exact only among articles the engine ordered; wall-clock time plays no
  part, and clock skew between machines no longer splits clusters: it only
  makes ``seen_at`` (informational) disagree with ``order``.
- A worker stalled beyond ``WAIT_S`` that had already decided an article in
  memory, used that decision for a later article of its batch, and then lost
  the write to a waiter deciding on its behalf, can leave that later article
  in a cluster of its own. Both apply the same rule to the same stored data,
  so this needs the on-behalf decision to differ too (it only can past
  ``MAX_DEPTH`` chained stalls).
- Similarity is not transitive: A~B and B~C with A!~C puts C in A's cluster
  through B. The cluster is "the story as it travelled", not a clique.
- "Earliest matching member" is taken among an article's best candidates:
  a story republished more than ``CANDIDATES`` times is joined through the
  copies closest to the new one (which joined the story's cluster before).
- Articles whose text has no word are never clustered (their own cluster).
- The clock document is one hot document: one write per batch per worker.
"""
from __future__ import annotations

import base64
import hashlib
import re
import time
import zlib
from functools import cached_property
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog
from datasketch import LeanMinHash, MinHash

from ingest.engines.client import VendorClient
from ingest.engines.errors import EngineError, bulk_outcomes
from ingest.models import utcnow
from ingest.settings import Settings
from ingest.shared_store import SharedStore, StoreOutage

log = structlog.get_logger(__name__)

NUM_PERM = 128
SEED = 1
SCHEME = "affine32"
SHINGLE_WORDS = 3
# 42 bands of 3 rows (126 of the 128 permutations): a pair at Jaccard 0.5
# becomes a candidate with probability 1 - (1 - 0.5^3)^42 = 0.996, at 0.4
# 0.93; 32 bands of 4 rows would miss 13% of the pairs at 0.5. The cost is
# more false candidates (0.29 at Jaccard 0.2), which verification drops.
BANDS = 42
ROWS = 3
CLOCK_ID = "story-clusters-clock"
# How long a batch waits, in all, for other workers' articles to be ordered
# and decided before ordering / deciding them itself.
WAIT_S = 5.0
POLL_S = (0.02, 0.25)
# Chained on-behalf decisions (a stalled worker's article whose own earlier
# member is stalled too...) stop here: the last one is its own cluster.
MAX_DEPTH = 3
# Candidates verified per article: the ones sharing the most bands. Without
# a bound, a site whose articles share stock sentences (market reports,
# weather, templated briefs) makes every earlier article a candidate of
# every new one, and a batch's lookup grows with the age of the store.
CANDIDATES = 10
# Two equal bands, not one, make a candidate: at Jaccard 0.5 (the default
# threshold) 97% of pairs still are, at 0.25 one in ten instead of one in
# two (1 - P(0 bands) - P(1 band), p = J^3 per band, 42 bands).
MIN_SHARED_BANDS = 2
# an exact copy ranks before any near one
_SAME_TEXT_BOOST = 1000.0
# candidate searches per _msearch request
MSEARCH_CHUNK = 100
# band pairs compared at once when matching (bounds the memory: 9 bytes each)
MATCH_CELLS = 2_000_000
# odd 64-bit constants mixing a band's three rows into one number
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
# After a failure the store is left alone this long (those batches get no
# cluster): a dead engine would otherwise cost every batch a timeout.
RECONNECT_AFTER_S = 30.0

_KEYWORD = {"type": "keyword"}
# No periodic refresh: every search that must see an article follows the
# refresh its creation asked for (refresh=true), orders and decisions are read
# by realtime gets, and a search that sees an older version of a document
# still finds it (its order only sorts it last among equals). The periodic
# refresh every second made twice the segments and cost the engine about a
# millisecond of CPU per article (`rasd bench-ingest`, 2,000 generated pages:
# 15 refreshes for 2.5 s against 8 for 0.6 s, and searches a fifth cheaper).
DYNAMIC_SETTINGS: dict[str, Any] = {"refresh_interval": "-1"}
INDEX_BODY: dict[str, Any] = {
    "settings": {"number_of_shards": 1, "number_of_replicas": 0, **DYNAMIC_SETTINGS},
    "mappings": {
        "dynamic": False,
        "properties": {
            "id": _KEYWORD,
            "cluster_id": _KEYWORD,
            "duplicate_of": _KEYWORD,
            "content_hash": _KEYWORD,
            "bands": _KEYWORD,
            # datasketch's LeanMinHash serialization; read back, never searched
            "minhash": {"type": "binary"},
            "similarity": {"type": "float", "index": False},
            "order": {"type": "long"},
            "pos": {"type": "integer"},
            "seen_at": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
            "decided_at": {"type": "date"},
            "url": {"type": "keyword", "ignore_above": 4096},
            "source": _KEYWORD,
        },
    },
}
# Without "bands": they follow from the signature (band_keys), and they were
# half of what a candidate read sent back.
_SOURCE_FIELDS = ["id", "cluster_id", "duplicate_of", "content_hash", "minhash", "similarity", "order", "pos"]


@dataclass(frozen=True)
class ClusterInput:
    id: str
    url: str
    source: str
    # the body after ingest.arabic.normalize_arabic
    text_norm: str
    content_hash: str


@dataclass(frozen=True)
class ClusterAssignment:
    # None only when the store was unreachable (degraded)
    cluster_id: str | None
    # the first-seen article with the same content hash
    duplicate_of: str | None
    first_seen: bool
    # estimated Jaccard to the member joined (None when first or degraded)
    similarity: float | None


DEGRADED = ClusterAssignment(cluster_id=None, duplicate_of=None, first_seen=False, similarity=None)


def content_hash(text_norm: str) -> str:
    return hashlib.sha256(text_norm.encode("utf-8")).hexdigest()


# A sentence ends at . ! ? ؟ … followed by a space or the end (so 21.25
# stays one number) or at a line break.
_SENTENCE_END = re.compile(r"[.!?؟…]+(?=\s|$)|\n")
_WORD = re.compile(r"\w+")


def shingles(text_norm: str) -> set[str]:
    """3-word shingles taken inside each sentence, lowercased, punctuation
    dropped. Shingles never span two sentences, so moving sentences or
    paragraphs around changes nothing; a sentence shorter than 3 words is
    one shingle."""
    grams: set[str] = set()
    for sentence in _SENTENCE_END.split(text_norm.casefold()):
        words = _WORD.findall(sentence)
        if len(words) <= SHINGLE_WORDS:
            if words:
                grams.add(" ".join(words))
            continue
        # zip of shifted lists: the windows are made in C, not a Python loop
        grams.update(map(" ".join, zip(*(words[i:] for i in range(SHINGLE_WORDS)))))
    return grams


# Generating the permutations is the costly part of a MinHash: once.
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def _given(value: int) -> int:
    return value


def signature(text_norm: str) -> LeanMinHash | None:
    """The MinHash of the text's shingles; None for a text without words.

    Each shingle enters as its CRC-32: datasketch's default input hash
    (SHA-1 per shingle) was a fifth of the ingest stage's cluster time,
    and the affine32 scheme mixes its input (murmur3's finalizer) before
    permuting, so a 32-bit checksum is enough as the input."""
    grams = shingles(text_norm)
    if not grams:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_PERMUTATIONS, scheme=SCHEME, hashfunc=_given)
    minhash.update_batch(list(map(zlib.crc32, map(str.encode, grams))))
    return LeanMinHash(minhash)


def similarity(a: LeanMinHash, b: LeanMinHash) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return float(a.jaccard(b))


def band_keys(sig: LeanMinHash) -> list[str]:
    """One key per band: the band number and its rows, in hex (no hash:
    the rows are already hash values, and 42 digests per article cost
    more than the longer keys)."""
    rows = sig.hashvalues[: BANDS * ROWS].astype("<u4").tobytes().hex()
    width = ROWS * 8
    return [f"{band:02d}{rows[band * width : (band + 1) * width]}" for band in range(BANDS)]


def _candidate_query(doc: _Doc) -> dict[str, Any]:
    """The search for ``doc``'s candidates: each equal band scores 1, the
    same text ``_SAME_TEXT_BOOST``; the best ``CANDIDATES``, the earliest
    first among equals. A copy without an order comes last among equals: it
    is the newest (being ordered now, or ordered since the last refresh)."""
    bands = [{"constant_score": {"filter": {"term": {"bands": band}}, "boost": 1.0}} for band in sorted(doc.bands)]
    return {
        "size": CANDIDATES,
        "track_total_hits": False,
        # ids only: the candidates are read by one realtime _mget for the
        # whole batch (see ClusterStore._candidates). Taken from the id
        # field's doc values: even a hit's _id alone is a stored field, read
        # by decompressing a block of stored documents (the engine's fetch
        # phase cost a third of its query phase for _id alone).
        "stored_fields": "_none_",
        "docvalue_fields": ["id"],
        "sort": ["_score", {"order": {"order": "asc", "missing": "_last"}}, {"pos": "asc"}, {"id": "asc"}],
        "query": {"bool": {
            "should": [
                {"bool": {"should": bands, "minimum_should_match": MIN_SHARED_BANDS}},
                {"constant_score": {"filter": {"term": {"content_hash": doc.content_hash}}, "boost": _SAME_TEXT_BOOST}},
            ],
            "minimum_should_match": 1,
            "must_not": [{"ids": {"values": [doc.id]}}],
        }},
    }


def encode_signature(sig: LeanMinHash) -> str:
    buf = bytearray(sig.bytesize(byteorder="<"))
    sig.serialize(buf, byteorder="<")
    return base64.b64encode(bytes(buf)).decode("ascii")


def decode_signature(data: str) -> LeanMinHash:
    return LeanMinHash.deserialize(base64.b64decode(data), byteorder="<")


@dataclass
class _Doc:
    """One article's document as this worker knows it."""

    id: str
    sig: LeanMinHash | None
    content_hash: str
    order: int | None = None
    pos: int = 0
    cluster_id: str | None = None
    duplicate_of: str | None = None
    similarity: float | None = None
    seq_no: int | None = None
    primary_term: int | None = None
    # decided here, not written yet
    dirty: bool = False

    @cached_property
    def bands(self) -> frozenset[str]:
        # only the batch's own articles (and one waited for) are searched by
        # band: the candidates found never need theirs
        return frozenset(band_keys(self.sig)) if self.sig is not None else frozenset()

    @property
    def key(self) -> tuple[int, int, str]:
        assert self.order is not None
        return (self.order, self.pos, self.id)

    @classmethod
    def from_stored(cls, id: str, source: dict[str, Any], seq_no: int | None, primary_term: int | None) -> _Doc:
        minhash = source.get("minhash")
        sig = decode_signature(minhash) if minhash else None
        return cls(
            id=id,
            sig=sig,
            content_hash=source.get("content_hash") or "",
            order=source.get("order"),
            pos=int(source.get("pos") or 0),
            cluster_id=source.get("cluster_id"),
            duplicate_of=source.get("duplicate_of"),
            similarity=source.get("similarity"),
            seq_no=seq_no,
            primary_term=primary_term,
        )

    def adopt(self, stored: _Doc) -> None:
        """Take what the store holds (another writer won)."""
        self.order, self.pos = stored.order, stored.pos
        self.cluster_id, self.duplicate_of, self.similarity = stored.cluster_id, stored.duplicate_of, stored.similarity
        self.seq_no, self.primary_term = stored.seq_no, stored.primary_term
        self.dirty = False

    def assignment(self) -> ClusterAssignment:
        return ClusterAssignment(
            cluster_id=self.cluster_id,
            duplicate_of=self.duplicate_of,
            first_seen=self.cluster_id == self.id,
            similarity=self.similarity,
        )


@dataclass(frozen=True)
class _Match:
    doc: _Doc
    similarity: float
    same_text: bool


def _bulk_errors(response: dict[str, Any], what: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The successful items by id and the ids another writer got first
    (409); any other refusal is an EngineError."""
    return bulk_outcomes(response, f"story cluster store refused {what}")


class ClusterStore:
    """The protocol of the module docstring on one client; raises
    EngineError (``StoryClusters`` turns that into degraded answers)."""

    wait_s = WAIT_S

    def __init__(self, client: VendorClient, settings: Settings) -> None:
        self.client = client
        self.index = settings.cluster_index
        self.threshold = settings.cluster_threshold
        self._wait_until: float | None = None

    def ensure(self) -> None:
        """Create the index if missing (idempotent; racing creators are fine);
        an index created by an earlier version gets today's dynamic settings."""
        self.client.ensure_plain_index(self.index, INDEX_BODY)
        current = self.client.get_index_settings(self.index)
        if any(str(current.get(key)) != str(value) for key, value in DYNAMIC_SETTINGS.items()):
            self.client.put_index_settings(self.index, DYNAMIC_SETTINGS)

    # -- reading -------------------------------------------------------

    def _read(self, ids: Iterable[str]) -> dict[str, _Doc]:
        """Realtime ``_mget``: sees writes no refresh has published yet."""
        found: dict[str, _Doc] = {}
        for entry in self.client.mget_raw(self.index, list(dict.fromkeys(ids)), source=_SOURCE_FIELDS):
            if entry.get("found"):
                found[entry["_id"]] = _Doc.from_stored(entry["_id"], entry.get("_source") or {},
                                                       entry.get("_seq_no"), entry.get("_primary_term"))
        return found

    def _candidates(self, docs: Sequence[_Doc]) -> dict[str, _Doc]:
        """For each of ``docs``, the ``CANDIDATES`` stored articles sharing
        the most bands with it (at least ``MIN_SHARED_BANDS``) or its
        content hash, the earliest first among equals; ``docs`` themselves
        left out. One ``_msearch`` round trip for a batch finds their ids,
        one realtime ``_mget`` reads them, each once however many articles
        of the batch found it.

        Reading the hits' documents in the searches cost the engine more
        than the searches themselves (its fetch phase loads and filters
        each hit's ``_source``: 1.25 ms a search against 0.05 ms for ids
        only, on the generated corpus where a search has 8 hits); a
        realtime get of the same document costs it about 0.02 ms, and it
        returns the current version rather than the search's copy, which
        may predate a candidate's order or decision (``_decide`` polls
        those that still lack one)."""
        subjects = [d for d in docs if d.sig is not None]
        batch = {d.id for d in docs}
        ids: dict[str, None] = {}
        for start in range(0, len(subjects), MSEARCH_CHUNK):
            chunk = subjects[start : start + MSEARCH_CHUNK]
            for response in self.client.msearch_raw(self.index, [_candidate_query(d) for d in chunk]):
                for hit in response["hits"]["hits"]:
                    # every article document has its id field; the clock has
                    # neither bands nor a hash, so it is never a hit
                    hit_id = hit.get("fields", {}).get("id", [None])[0]
                    if hit_id is not None and hit_id not in batch:
                        ids[hit_id] = None
        # a candidate deleted since the search is not read: no candidate
        return self._read(ids)

    # -- writing -------------------------------------------------------

    def _clock(self) -> int:
        """A number larger than every number handed out before this call
        (the primary shard's sequence number for a write)."""
        return int(self.client.index_raw(self.index, CLOCK_ID, {"clock": True})["_seq_no"])

    def _create(self, items: Sequence[tuple[ClusterInput, _Doc]]) -> list[str]:
        """Write the new articles, searchable on return; the ids another
        worker created first (the same article in two batches)."""
        if not items:
            return []
        seen_at = utcnow().isoformat(timespec="milliseconds")
        ops: list[dict[str, Any]] = []
        for item, doc in items:
            ops.append({"create": {"_index": self.index, "_id": doc.id}})
            ops.append({
                "id": doc.id, "url": item.url, "source": item.source, "content_hash": doc.content_hash,
                "bands": sorted(doc.bands), "minhash": encode_signature(doc.sig) if doc.sig is not None else None,
                "seen_at": seen_at,
            })
        # refresh=true: searchable on return, without waiting up to a refresh
        # interval (wait_for) on every batch
        done, conflicts = _bulk_errors(self.client.bulk_raw(ops, refresh="true"), "a new article")
        for item, doc in items:
            if doc.id in done:
                doc.seq_no, doc.primary_term = done[doc.id]["_seq_no"], done[doc.id]["_primary_term"]
        return conflicts

    def _stamp(self, docs: Sequence[_Doc], *, refresh_first: bool) -> None:
        """Give ``docs`` their place in the order (after everything ordered
        so far); a document someone else ordered first keeps that order."""
        if not docs:
            return
        if refresh_first:
            # a document we did not create with wait_for may not be
            # searchable yet; the order must come after it is
            self.client.refresh_index(self.index)
        clock = self._clock()
        ops: list[dict[str, Any]] = []
        for pos, doc in enumerate(docs):
            ops.append({"update": {"_index": self.index, "_id": doc.id, "if_seq_no": doc.seq_no,
                                   "if_primary_term": doc.primary_term}})
            ops.append({"doc": {"order": clock, "pos": pos}})
        done, conflicts = _bulk_errors(self.client.bulk_raw(ops), "an order")
        for pos, doc in enumerate(docs):
            if doc.id in done:
                doc.order, doc.pos = clock, pos
                doc.seq_no, doc.primary_term = done[doc.id]["_seq_no"], done[doc.id]["_primary_term"]
        if conflicts:
            fresh = self._read(conflicts)
            for doc in docs:
                if doc.id in fresh:
                    doc.adopt(fresh[doc.id])

    def _flush(self, docs: Iterable[_Doc]) -> None:
        """Write the decisions not written yet, each only if the document is
        unchanged since read; a lost write adopts the stored decision."""
        pending = [d for d in docs if d.dirty]
        for _attempt in range(3):
            if not pending:
                return
            ops: list[dict[str, Any]] = []
            decided_at = utcnow().isoformat(timespec="milliseconds")
            for doc in pending:
                ops.append({"update": {"_index": self.index, "_id": doc.id, "if_seq_no": doc.seq_no,
                                       "if_primary_term": doc.primary_term}})
                ops.append({"doc": {"cluster_id": doc.cluster_id, "duplicate_of": doc.duplicate_of,
                                    "similarity": doc.similarity, "decided_at": decided_at}})
            done, conflicts = _bulk_errors(self.client.bulk_raw(ops), "a decision")
            for doc in pending:
                if doc.id in done:
                    doc.seq_no, doc.primary_term = done[doc.id]["_seq_no"], done[doc.id]["_primary_term"]
                    doc.dirty = False
            if not conflicts:
                return
            fresh = self._read(conflicts)
            retry: list[_Doc] = []
            for doc in pending:
                stored = fresh.get(doc.id)
                if not doc.dirty or stored is None:
                    continue
                if stored.cluster_id is not None:
                    if stored.cluster_id != doc.cluster_id:
                        log.info("story_cluster_decided_elsewhere", article=doc.id, ours=doc.cluster_id,
                                 stored=stored.cluster_id)
                    doc.adopt(stored)
                else:
                    # changed but still undecided: write again on the new version
                    doc.seq_no, doc.primary_term = stored.seq_no, stored.primary_term
                    retry.append(doc)
            pending = retry
        if pending:
            raise EngineError(f"story cluster decisions kept conflicting: {[d.id for d in pending]}",
                              status=409, retryable=True)

    # -- waiting -------------------------------------------------------

    def _time_left(self) -> float:
        if self._wait_until is None:
            self._wait_until = time.monotonic() + self.wait_s
        return self._wait_until - time.monotonic()

    def _poll(self, docs: Sequence[_Doc], done: Callable[[_Doc], bool]) -> tuple[list[_Doc], set[str]]:
        """Re-read ``docs`` until ``done`` holds for each or the batch's
        waiting time is spent: the ones still not done, and the ids of those
        that disappeared (deleted meanwhile)."""
        waiting = list(docs)
        gone: set[str] = set()
        delay = POLL_S[0]
        while waiting:
            fresh = self._read(d.id for d in waiting)
            still: list[_Doc] = []
            for doc in waiting:
                stored = fresh.get(doc.id)
                if stored is None:
                    gone.add(doc.id)
                    continue
                doc.adopt(stored)
                if not done(doc):
                    still.append(doc)
            waiting = still
            left = self._time_left()
            if not waiting or left <= 0:
                break
            time.sleep(min(delay, left))
            delay = min(delay * 2, POLL_S[1])
        return waiting, gone

    # -- deciding ------------------------------------------------------

    def _matches(self, docs: Sequence[_Doc], known: dict[str, _Doc]) -> dict[str, list[_Match]]:
        """For each of ``docs``, the known articles it matches: those with the
        same text, and the LSH candidates (a band of the signature equal)
        whose estimated similarity reaches the threshold.

        In numpy, a block of ``docs`` at a time: each band's three rows mixed
        into one number find the candidate pairs; their similarity is taken,
        and the bands of those close enough are compared row by row (so a
        collision of the mix changes nothing). Per pair in Python, a
        templated site with hundreds of candidates per page made this the
        costliest part of a batch."""
        out: dict[str, list[_Match]] = {d.id: [] for d in docs}
        pool = [d for d in known.values() if d.sig is not None]
        subjects = [d for d in docs if d.sig is not None]
        if not subjects or len(pool) < 2:
            return out
        rows = {d.id: i for i, d in enumerate(pool)}
        values = np.array([d.sig.hashvalues for d in pool])  # type: ignore[union-attr]
        bands = values[:, : BANDS * ROWS].reshape(len(pool), BANDS, ROWS)
        wide = bands.astype(np.uint64)
        mixed = wide[:, :, 0] * _MIX[0] + wide[:, :, 1] * _MIX[1] + wide[:, :, 2]
        texts: dict[str, int] = {}
        text_of = np.array([texts.setdefault(d.content_hash, len(texts)) for d in pool])
        block = max(1, MATCH_CELLS // (len(pool) * BANDS))
        for start in range(0, len(subjects), block):
            chunk = subjects[start : start + block]
            at = np.array([rows[d.id] for d in chunk])
            same = text_of[at][:, None] == text_of[None, :]
            maybe = same | (mixed[at][:, None, :] == mixed[None, :, :]).any(axis=2)
            maybe[np.arange(len(chunk)), at] = False
            k, j = np.nonzero(maybe)
            sims = (values[at[k]] == values[j]).mean(axis=1)
            same_text = same[k, j]
            close = same_text | (sims >= self.threshold)
            k, j, sims, same_text = k[close], j[close], sims[close], same_text[close]
            banded = (bands[at[k]] == bands[j]).all(axis=2).any(axis=1)
            keep = same_text | banded
            for kk, jj, same_kj, sim in zip(k[keep], j[keep], same_text[keep], sims[keep]):
                other = pool[jj]
                out[chunk[kk].id].append(_Match(other, 1.0, True) if same_kj else _Match(other, float(sim), False))
        return out

    def _decide(self, docs: Sequence[_Doc], depth: int = 0) -> None:
        """Decide ``docs`` (ordered, undecided) and write the decisions."""
        if not docs:
            return
        known: dict[str, _Doc] = {d.id: d for d in docs}
        for cid, cand in self._candidates(docs).items():
            known.setdefault(cid, cand)
        matches = self._matches(docs, known)

        unordered = list({m.doc.id: m.doc for ms in matches.values() for m in ms if m.doc.order is None}.values())
        gone: set[str] = set()
        if unordered:
            stalled, gone = self._poll(unordered, lambda d: d.order is not None)
            if stalled:
                log.warning("story_cluster_order_timeout", articles=[d.id for d in stalled],
                            effect="ordered by this worker, after its own batch")
                # found by a search, so searchable: no refresh needed
                self._stamp(stalled, refresh_first=False)
            gone |= {d.id for d in unordered if d.order is None}

        batch = {d.id for d in docs}
        decided: list[_Doc] = []
        for doc in sorted(docs, key=lambda d: d.key):
            earlier = [m for m in matches[doc.id] if m.doc.id not in gone and m.doc.key < doc.key]
            if not earlier:
                doc.cluster_id, doc.duplicate_of, doc.similarity = doc.id, None, None
            else:
                target = min(earlier, key=lambda m: m.doc.key)
                same = [m for m in earlier if m.same_text]
                doc.duplicate_of = min(same, key=lambda m: m.doc.key).doc.id if same else None
                doc.similarity = round(target.similarity, 4)
                if target.doc.cluster_id is None and target.doc.id not in batch:
                    # its worker may be waiting for our earlier decisions
                    self._flush(decided)
                    self._await_decision(target.doc, depth)
                doc.cluster_id = target.doc.cluster_id
            doc.dirty = True
            decided.append(doc)
        self._flush(decided)

    def _await_decision(self, target: _Doc, depth: int) -> None:
        stalled, gone = self._poll([target], lambda d: d.cluster_id is not None)
        if gone:
            # deleted meanwhile (an operator cleaning up): its id still names
            # the story for the articles joining it
            target.cluster_id = target.id
            return
        if not stalled:
            return
        log.warning("story_cluster_decision_timeout", article=target.id, depth=depth,
                    effect="decided by this worker on its behalf")
        if depth + 1 >= MAX_DEPTH:
            target.cluster_id, target.duplicate_of, target.similarity = target.id, None, None
            target.dirty = True
            self._flush([target])
        else:
            self._decide([target], depth + 1)

    # -- the batch -----------------------------------------------------

    def assign(self, items: Sequence[ClusterInput]) -> list[ClusterAssignment]:
        self._wait_until = None
        unique: dict[str, ClusterInput] = {}
        for item in items:
            unique.setdefault(item.id, item)
        # Every article is created: one that is stored already (re-ingest,
        # re-extraction, another worker) comes back as a conflict and is read
        # below, which spares the common batch of new articles a round trip.
        docs: dict[str, _Doc] = {}
        new: list[tuple[ClusterInput, _Doc]] = []
        for item in unique.values():
            # an unset hash ("" is Article's default) would make every such article a duplicate
            doc = _Doc(id=item.id, sig=signature(item.text_norm),
                       content_hash=item.content_hash or content_hash(item.text_norm))
            new.append((item, doc))
            docs[item.id] = doc

        conflicts = self._create(new)
        # stored before (or by another worker meanwhile): what the store holds wins
        foreign = set(conflicts)
        if conflicts:
            fresh = self._read(conflicts)
            for cid in conflicts:
                if cid in fresh:
                    docs[cid] = fresh[cid]
        undecided = [d for d in docs.values() if d.cluster_id is None]
        unordered = [d for d in undecided if d.order is None]
        mine = {doc.id for _, doc in new} - foreign
        self._stamp(unordered, refresh_first=any(d.id not in mine for d in unordered))
        self._decide([d for d in undecided if d.cluster_id is None and d.order is not None])
        assignments = [docs[item.id].assignment() for item in items]
        log.debug("story_clusters_assigned", articles=len(unique), new=len(mine),
                  first_seen=sum(1 for d in docs.values() if d.cluster_id == d.id))
        return assignments


class StoryClusters:
    """The ingest worker's view of the store. The engine being unreachable
    never stops ingest: the batch's articles then get no cluster
    (``cluster_id`` None), with one warning per outage.

    ``close()`` closes the client only if this object opened it (a client
    passed in belongs to the caller)."""

    def __init__(self, settings: Settings, client: VendorClient | None = None) -> None:
        self.settings = settings
        outage = StoreOutage("story_cluster_store", settings.cluster_index,
                             "articles are published without a story cluster")
        self._shared = SharedStore(settings, outage, self._open, client=client)
        self._outage = outage

    def _open(self, client: VendorClient) -> ClusterStore:
        store = ClusterStore(client, self.settings)
        store.ensure()
        return store

    def assign(self, items: Sequence[ClusterInput]) -> list[ClusterAssignment]:
        """One assignment per item, in order."""
        if not items:
            return []
        try:
            store = self._shared.get()
            if store is None:
                return [DEGRADED] * len(items)
            assignments = store.assign(items)
        except EngineError as exc:
            self._outage.failed(exc, RECONNECT_AFTER_S)
            return [DEGRADED] * len(items)
        self._outage.recovered()
        return assignments

    def close(self) -> None:
        self._shared.close()
