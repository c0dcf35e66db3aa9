"""Structured logging for every Rasd command (structlog, key=value or JSON)."""
from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


class _CurrentStderrLogger:
    """Writes each line to whatever ``sys.stderr`` is *now*: structlog's
    PrintLogger binds the stream once, which breaks after a CLI runner or a
    test harness swaps and closes it."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


# Fields every line of this process carries (its stage), on every thread:
# structlog's contextvars do not reach threads started before they were bound
# or pool threads, and stdlib lines (Kafka, Scrapy) never see them.
_PROCESS_FIELDS: dict[str, str] = {}


def bind_process(**fields: str) -> None:
    """Add ``fields`` (e.g. ``stage="ingest"``) to every log line of this process."""
    _PROCESS_FIELDS.update(fields)


def _process_fields(_logger: object, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in _PROCESS_FIELDS.items():
        event.setdefault(key, value)
    return event


# Libraries whose INFO lines are per-request chatter or start-up banners
# (Scrapy's per-response and stats lines, Twisted's reactor, the Kafka and
# HTTP clients): kept out of the default output, shown with RASD_LOG_LEVEL=DEBUG.
# pymorphy3 announces its dictionaries when the alert rules compile.
_NOISY = ("kafka", "urllib3", "scrapy", "twisted", "filelock", "trafilatura", "htmldate", "courlan", "pymorphy3")


def quiet_libraries(level: str) -> None:
    """Libraries at WARNING unless ``level`` is DEBUG. Scrapy sets its own
    loggers when a crawler process is made: the crawl calls this again then."""
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(quiet)
    # never below INFO: kafka-python's debug lines print its whole
    # configuration, SASL and TLS key passwords in clear
    logging.getLogger("kafka").setLevel(max(quiet, logging.INFO))


def progress_logger() -> Any:
    """The logger of progress lines (``ingest.progress``), in the configured
    format and shown at any RASD_LOG_LEVEL: the benchmarks run at WARNING to
    keep the workers' per-batch lines out, and progress is what the person at
    the terminal waits for (``progress_interval_s`` 0 turns it off)."""
    return structlog.wrap_logger(
        _CurrentStderrLogger(),
        processors=structlog.get_config()["processors"],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )


class _SlowTaskNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "blocking the event loop" not in record.getMessage()


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s")
    quiet_libraries(level)
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
    shared: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _process_fields,
    ]
    # The stdlib lines that pass the levels above (library warnings, Scrapy's
    # errors) become JSON lines too, with their logger's name.
    formatter: logging.Formatter = (
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
        if json
        else logging.Formatter("%(message)s")
    )
    for handler in logging.root.handlers:
        if type(handler) is logging.StreamHandler:  # ours from basicConfig; not a test harness's capture
            handler.setFormatter(formatter)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=lambda *args: _CurrentStderrLogger(),
        cache_logger_on_first_use=False,
    )
