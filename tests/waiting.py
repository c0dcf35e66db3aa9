"""Waiting on a condition in tests, never for a fixed time."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.1) -> Any:
    """The first truthy value of ``condition()``, asked every ``every_s``;
    the test fails naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s}s waiting for {what}"
        time.sleep(every_s)
    return value
