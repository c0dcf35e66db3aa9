"""The one error type the local stack raises for anything a user can fix."""
from __future__ import annotations


class StackError(RuntimeError):
    """A local-stack server could not be fetched, started or reached."""
