import io
import sys

import structlog

from ingest.logs import configure_logging


def test_log_lines_follow_stderr_after_it_is_swapped_and_closed(monkeypatch):
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("INFO")
    structlog.get_logger("t").info("one", n=1)
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    structlog.get_logger("t").info("two", n=2)
    assert "two" in second.getvalue() and "n=2" in second.getvalue()


def test_json_logs_are_one_object_per_line(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("INFO", json=True)
    structlog.get_logger("t").info("event_name", url="https://news.example/a")
    assert '"event": "event_name"' in out.getvalue()
    configure_logging("INFO")
