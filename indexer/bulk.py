"""How a batch of documents becomes bulk requests: each document is
serialized once into its NDJSON action pair, and the pairs are grouped into
requests bounded by a document count and a byte size.

Serializing here (instead of handing dicts to the vendor client) gives the
request size for free and avoids encoding every document twice."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.engines.json_codec import ndjson
from ingest.settings import Settings

# Both engines refuse requests over http.max_content_length (100 MB by default);
# smaller requests also keep one slow bulk from holding a batch for long.
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_DOCS = 500

# Only what the indexer reads back: the per-item status and error. The full
# response (index, version, shards, seq_no per item) costs parsing time.
RESPONSE_FILTER = "errors,items.*.status,items.*.error"


@dataclass(frozen=True)
class BulkLimits:
    """Bounds of one bulk request, and how many may be in flight at once."""

    max_docs: int = DEFAULT_MAX_DOCS
    max_bytes: int = DEFAULT_MAX_BYTES
    concurrency: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> "BulkLimits":
        return cls(settings.index_bulk_max_docs, settings.index_bulk_max_bytes, settings.index_bulk_concurrency)


def action_pair(index: str, doc: dict[str, Any]) -> bytes:
    """The two NDJSON lines that index (create or overwrite) ``doc`` under its id."""
    # "index", not "create": a replayed message overwrites its document.
    return ndjson(({"index": {"_index": index, "_id": doc["id"]}}, doc))


def chunk_ranges(sizes: Sequence[int], limits: BulkLimits) -> Iterator[range]:
    """Consecutive position ranges whose item count stays within
    ``limits.max_docs`` and whose summed ``sizes`` stay within
    ``limits.max_bytes``. An item larger than ``max_bytes`` goes alone (the
    engine then says whether it takes it)."""
    start = 0
    total = 0
    for position, size in enumerate(sizes):
        count = position - start
        if count and (count >= limits.max_docs or total + size > limits.max_bytes):
            yield range(start, position)
            start, total = position, 0
        total += size
    if start < len(sizes):
        yield range(start, len(sizes))
