"""Dates from feeds, sitemaps and pages, always timezone-aware UTC."""
from __future__ import annotations

from datetime import datetime, timezone


def parse_iso_datetime(value: str | None) -> datetime | None:
    """An ISO 8601 / W3C datetime (a date, or a date and time with offset) as
    aware UTC; a value without offset is taken as UTC; junk gives None."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
