"""Lifecycle policy bodies for the articles' rollover indices, built from
settings: ILM on Elasticsearch, ISM on OpenSearch, and the bare rollover
conditions the indexer sends itself where the engine has neither.

Pure functions: what the engine does with them is in ``indexer.lifecycle``.
"""
from __future__ import annotations

from typing import Any

from ingest.settings import Settings
from indexer import mapping


def policy_name(alias: str) -> str:
    return f"{alias}-policy"


def rollover_conditions(settings: Settings) -> dict[str, Any]:
    """Conditions of the ``_rollover`` API (any one met rolls over)."""
    conditions: dict[str, Any] = {}
    if settings.index_rollover_max_size:
        conditions["max_size"] = settings.index_rollover_max_size
    if settings.index_rollover_max_age:
        conditions["max_age"] = settings.index_rollover_max_age
    if settings.index_rollover_max_docs:
        conditions["max_docs"] = settings.index_rollover_max_docs
    return conditions


def retention_age(settings: Settings) -> str | None:
    """The retention as an engine time value, in whole hours (the engines'
    time units take no fractions)."""
    if settings.index_retention_days is None:
        return None
    return f"{max(1, round(settings.index_retention_days * 24))}h"


def ilm_policy(settings: Settings) -> dict[str, Any]:
    """Body of ``PUT _ilm/policy/<name>``. ILM measures a delete phase's
    min_age from the rollover, i.e. from the index's last write."""
    phases: dict[str, Any] = {"hot": {"actions": {"rollover": rollover_conditions(settings)}}}
    retention = retention_age(settings)
    if retention:
        phases["delete"] = {"min_age": retention, "actions": {"delete": {}}}
    return {"policy": {"_meta": {"managed_by": "rasd"}, "phases": phases}}


def ilm_index_settings(settings: Settings) -> dict[str, Any]:
    return {
        "index.lifecycle.name": policy_name(settings.articles_alias),
        "index.lifecycle.rollover_alias": settings.articles_alias,
    }


def ism_policy(settings: Settings) -> dict[str, Any]:
    """Body of ``PUT _plugins/_ism/policies/<name>``. ISM names the rollover
    conditions differently; its ``min_rollover_age`` transition counts from
    the rollover like ILM's delete phase. The ism_template attaches the
    policy to every new index of the current generation."""
    ism_names = {"max_size": "min_size", "max_age": "min_index_age", "max_docs": "min_doc_count"}
    rollover = {ism_names[k]: v for k, v in rollover_conditions(settings).items()}
    hot: dict[str, Any] = {"name": "hot", "actions": [{"rollover": rollover}], "transitions": []}
    states = [hot]
    retention = retention_age(settings)
    if retention:
        hot["transitions"] = [{"state_name": "delete", "conditions": {"min_rollover_age": retention}}]
        states.append({"name": "delete", "actions": [{"delete": {}}], "transitions": []})
    return {
        "policy": {
            "description": f"rasd: rollover and retention of {settings.articles_alias}",
            "default_state": "hot",
            "states": states,
            "ism_template": [{"index_patterns": [mapping.index_pattern(settings.articles_alias)], "priority": 100}],
        }
    }


def ism_index_settings(settings: Settings) -> dict[str, Any]:
    return {"plugins.index_state_management.rollover_alias": settings.articles_alias}
