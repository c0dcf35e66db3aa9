"""Document identity: one canonical URL, one id, whatever the route to it."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from urllib.parse import urlsplit

from courlan import normalize_url


# Cached: a page's id and URL are both derived from its canonical URL, and
# courlan's normalization is the costly part of either.
@lru_cache(maxsize=1024)
def canonical_url(url: str) -> str:
    """Normalized form of ``url``: lower-case scheme and host, default port
    and fragment dropped, tracking parameters (utm_*, fbclid...) removed,
    remaining query parameters sorted. courlan does the work; it is what
    trafilatura itself uses."""
    return normalize_url(url.strip(), strict=True)


def document_id(url: str) -> str:
    """Stable id of the document at ``url``: sha256 of the canonical URL,
    truncated to 128 bits (ample against collisions, shorter keys)."""
    return hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()[:32]


def domain_of(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")
