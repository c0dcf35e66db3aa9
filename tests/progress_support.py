"""Reading the JSON log lines a command wrote (RASD_LOG_JSON), progress lines first of all."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from ingest.logs import configure_logging


def json_events(text: str) -> list[dict[str, Any]]:
    """The JSON objects among ``text``'s lines, in order (other lines skipped)."""
    events = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return events


def progress_lines(events: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == "progress" and e.get("task") == task]


def logged_before(events: list[dict[str, Any]], first: dict[str, Any], event: str) -> bool:
    """``first`` was logged before the first ``event`` line."""
    names = [e.get("event") for e in events]
    return event in names and events.index(first) < names.index(event)


@contextmanager
def json_logging() -> Iterator[None]:
    """This process's structlog lines as JSON for a while (a command run
    in-process, not through the CLI that configures them)."""
    saved = structlog.get_config()
    configure_logging("INFO", json=True)
    try:
        yield
    finally:
        structlog.configure(**saved)
