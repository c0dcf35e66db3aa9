"""Test helper shared by the rules tests: drop a test's rules indices."""
from __future__ import annotations

from indexer.engines.common import ClientEngine
from ingest.engines.errors import EngineError


def drop_rules_indices(engine: ClientEngine, alias: str, *extra: str) -> None:
    """Delete the indices behind the rules ``alias`` and the ``extra`` ones
    that exist."""
    try:
        names = list(engine.get_alias(alias))
    except EngineError:
        names = []
    for name in names + list(extra):
        if engine.index_exists(name):
            engine.delete_index(name)
