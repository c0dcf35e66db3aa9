from datetime import datetime, timezone

from ingest.dates import parse_http_date


def test_http_dates_become_aware_utc_and_junk_gives_none():
    assert parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT") == datetime(2026, 10, 21, 7, 28, tzinfo=timezone.utc)
    # an obsolete form with a numeric offset is still read, as UTC
    assert parse_http_date("Wed, 21 Oct 2026 10:28:00 +0300") == datetime(2026, 10, 21, 7, 28, tzinfo=timezone.utc)
    assert parse_http_date("soon") is None and parse_http_date("") is None and parse_http_date(None) is None
