"""Try one rule on articles before saving it (``rasd rules test``): the
rule is compiled and percolated on the real engine, in a scratch index that
is always deleted, so nothing lasting is stored and the real rules index is
never touched."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from pydantic import BaseModel

from indexer import mapping
from indexer.alerts.compile import compile_rule
from indexer.alerts.percolate import percolate
from indexer.alerts.rules import ChannelSpec, Rule
from indexer.engines.common import ClientEngine
from ingest.settings import Settings

log = structlog.get_logger(__name__)


class RuleTestResult(BaseModel):
    index: int
    title: str
    matched: bool
    highlights: list[str]
    matched_terms: list[str]


def test_rule(
    engine: ClientEngine,
    settings: Settings,
    rule: Rule,
    channels: Mapping[str, ChannelSpec],
    articles: list[dict[str, Any]],
) -> list[RuleTestResult]:
    """Percolate ``articles`` (dicts with title, text, language ...) against
    ``rule`` in one request; one result per article, in order."""
    document = compile_rule(rule, channels)
    # Not named like a rules generation ("<alias>-<10 hex>"): a concurrent
    # sync never mistakes it for a stale generation, nor percolation for rules.
    scratch = f"{settings.rules_index}-scratch-{uuid.uuid4().hex}"
    engine.create_index(scratch, mapping.rules_index_body(engine.available_filters()))
    try:
        engine.index_raw(scratch, rule.name, document, refresh="true")
        found = percolate(engine, scratch, articles, page_size=1).slots
    finally:
        engine.delete_index(scratch)
    results = []
    for i, article in enumerate(articles):
        match = (found.get(i) or [None])[0]
        results.append(
            RuleTestResult(
                index=i,
                title=str(article.get("title") or ""),
                matched=match is not None,
                highlights=list(match.fragments) if match else [],
                matched_terms=match.matched_terms if match else [],
            )
        )
    log.info("rule_tested", rule=rule.name, articles=len(articles), matched=len(found))
    return results


# pytest would collect the function by its name wherever it is imported.
test_rule.__test__ = False  # type: ignore[attr-defined]
