"""The garbage collector set for a long-running worker process.

A worker's heap is mostly long-lived: modules, parsers, lookup tables,
caches, the clients. Its per-page garbage (trees, dicts, strings) is almost
all freed by reference counting as soon as the page is done. CPython's
default collector still runs a young collection every 700 allocations and,
every hundred of those, one that walks the whole heap again: in the ingest
worker that was 0.8-1.0 s of a 16 s run over 2,000 pages, 5-13% of its CPU
(`rasd bench-ingest`; with the collector off the same run took 10-13% less
CPU per page).

So, once start-up is done, what exists then is frozen (moved out of the
collector's sight: it lives as long as the process) and the young
generation is collected every ``YOUNG_THRESHOLD`` allocations instead of
700. The rare reference cycles a page leaves behind are still collected,
later; the memory that costs is a few thousand small objects at most."""
from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def tune_for_worker() -> None:
    """Collect what start-up left, freeze the rest, collect the young
    generation less often. Call once, after the worker's imports and
    before its loop."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
