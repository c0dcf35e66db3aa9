"""One error type for both vendors' clients."""
from __future__ import annotations

from typing import Any


class EngineError(RuntimeError):
    """A search engine request failed. ``retryable`` is True for overload
    (429), server errors (5xx) and transport failures, i.e. when the same
    request may succeed later; False for a request the engine refuses."""

    def __init__(self, message: str, *, status: int | None, retryable: bool, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        # the engine's own error type ("resource_already_exists_exception"...):
        # callers branch on it instead of matching message text
        self.error_type = error_type


class EngineUnavailable(EngineError):
    """The engine could not be reached at all."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=None, retryable=True)


def is_retryable_status(status: int | None) -> bool:
    # None: no HTTP answer (refused, reset, timed out).
    return status is None or status == 429 or status >= 500


def error_reason(error: Any) -> str:
    """One line from an engine error object: ``type: reason (caused by ...)``."""
    if not isinstance(error, dict):
        return str(error)
    text = f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
    cause = error.get("caused_by")
    if not isinstance(cause, dict):
        # A search failing on its shards says only "all shards failed" at the
        # top; the shard's own error (root_cause) is what explains it.
        roots = error.get("root_cause")
        cause = roots[0] if isinstance(roots, list) and roots and isinstance(roots[0], dict) else None
    if isinstance(cause, dict):
        text += f" (caused by {cause.get('type', 'error')}: {cause.get('reason', '')})"
    return text


def error_type(error: Any) -> str | None:
    return error.get("type") if isinstance(error, dict) else None


def bulk_outcomes(response: dict[str, Any], refused: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """A bulk response of a store that writes conditionally: the successful
    items by id, and the ids another writer changed first (409). Any other
    refusal raises EngineError ("<refused>: <engine's reason>")."""
    done: dict[str, dict[str, Any]] = {}
    conflicts: list[str] = []
    for item in response.get("items", []):
        outcome = next(iter(item.values()))
        status = outcome.get("status", 0)
        if status == 409:
            conflicts.append(outcome["_id"])
        elif status >= 300:
            error = outcome.get("error")
            raise EngineError(f"{refused}: {error_reason(error)}", status=status,
                              retryable=status == 429 or status >= 500, error_type=error_type(error))
        else:
            done[outcome["_id"]] = outcome
    return done, conflicts
