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


def test_kafka_slow_task_warnings_are_dropped_and_its_other_warnings_kept(caplog):
    import logging

    configure_logging("INFO")
    configure_logging("INFO")  # twice: one filter, not two
    selector = logging.getLogger("kafka.net.selector")
    assert len(selector.filters) == 1
    with caplog.at_level(logging.WARNING, logger="kafka.net.selector"):
        selector.warning("Task %r ran for %.3fs (>%.3fs threshold). It is blocking the event loop -- likely a tight "
                         "sync loop inside a coroutine. Other pollers will time out.", "t", 0.3, 0.1)
        selector.warning("Task %s left RUNNING after step; demoting to UNSCHEDULED", "t")
    assert [r.getMessage() for r in caplog.records] == ["Task t left RUNNING after step; demoting to UNSCHEDULED"]


def test_json_lines_carry_the_stage_from_any_thread_and_library_lines_are_json_too(monkeypatch):
    import json
    import logging
    import threading

    from ingest import logs

    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    monkeypatch.setattr(logs, "_PROCESS_FIELDS", {})
    # a stream handler of our own, as basicConfig makes when nothing configured logging before
    handler = logging.StreamHandler(out)
    logging.root.addHandler(handler)
    try:
        configure_logging("INFO", json=True)
        logs.bind_process(stage="ingest")
        worker = threading.Thread(target=lambda: structlog.get_logger("t").info("from_a_pool_thread", url="https://x.example/a"))
        worker.start()
        worker.join()
        logging.getLogger("kafka.conn").warning("broker %s is away", "b1")
        logging.getLogger("kafka.conn").info("chatter at INFO stays out")
    finally:
        logging.root.removeHandler(handler)
        configure_logging("INFO")
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    assert [(l["event"], l["stage"]) for l in lines] == [("from_a_pool_thread", "ingest"), ("broker b1 is away", "ingest")]
    assert lines[1]["logger"] == "kafka.conn" and lines[1]["level"] == "warning"
