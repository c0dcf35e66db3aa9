from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from ingest.dates import parse_http_date, parse_retry_after


def test_http_dates_become_aware_utc_and_junk_gives_none():
    assert parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT") == datetime(2026, 10, 21, 7, 28, tzinfo=timezone.utc)
    # an obsolete form with a numeric offset is still read, as UTC
    assert parse_http_date("Wed, 21 Oct 2026 10:28:00 +0300") == datetime(2026, 10, 21, 7, 28, tzinfo=timezone.utc)
    assert parse_http_date("soon") is None and parse_http_date("") is None and parse_http_date(None) is None


def test_retry_after_delta_seconds():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(b" 7 ") == 7.0


def test_retry_after_http_date_counts_from_now():
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, now=now) == 90.0
    # a date in the past means "now", never a negative wait
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "   ", "soon", b"-5"])
def test_unreadable_retry_after_is_none(value):
    assert parse_retry_after(value) is None
