"""Structured logging for every Rasd command (structlog, key=value or JSON)."""
from __future__ import annotations

import logging
import sys

import structlog


class _CurrentStderrLogger:
    """Writes each line to whatever ``sys.stderr`` is *now*: structlog's
    PrintLogger binds the stream once, which breaks after a CLI runner or a
    test harness swaps and closes it."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


class _SlowTaskNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "blocking the event loop" not in record.getMessage()


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s")
    # kafka-python and the search clients are chatty at INFO
    for noisy in ("kafka", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The search clients log every non-2xx answer (an expected 404 on a
    # missing alias included); the adapters raise on real failures anyway.
    for client in ("elastic_transport", "opensearch"):
        logging.getLogger(client).setLevel(logging.ERROR)
    # The group's first assignment runs before topic metadata arrives and
    # warns about it; the next rebalance (milliseconds later) is complete.
    logging.getLogger("kafka.coordinator.assignors").setLevel(logging.ERROR)
    # kafka-python times each step of its I/O thread by the wall clock; while
    # extraction holds the GIL the step looks slow and it warns that a task
    # "is blocking the event loop" (hundreds of lines a minute, none true).
    selector = logging.getLogger("kafka.net.selector")
    if not any(isinstance(f, _SlowTaskNoise) for f in selector.filters):
        selector.addFilter(_SlowTaskNoise())
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=lambda *args: _CurrentStderrLogger(),
        cache_logger_on_first_use=False,
    )
