"""Which responses are HTML pages: one rule for the crawler and the ingest worker."""
from __future__ import annotations

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def media_type(content_type: str | None) -> str | None:
    """``text/html; charset=windows-1256`` -> ``text/html``."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def is_html_type(content_type: str | None) -> bool | None:
    """True/False by the declared type; None when no type was declared (the
    caller decides: sniff the body, or give the page the benefit of the doubt)."""
    kind = media_type(content_type)
    return None if kind is None else kind in HTML_TYPES
