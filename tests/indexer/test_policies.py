"""Lifecycle policy bodies (pure: no engine)."""
from __future__ import annotations

from ingest.settings import Settings
from indexer import mapping, policies


def _settings(**overrides: object) -> Settings:
    return Settings(articles_alias="news", **overrides)  # type: ignore[arg-type]


def test_rollover_conditions_come_from_settings_and_unset_ones_are_left_out():
    assert policies.rollover_conditions(_settings()) == {"max_size": "50gb", "max_age": "30d"}
    tiny = _settings(index_rollover_max_size=None, index_rollover_max_age=None, index_rollover_max_docs=100)
    assert policies.rollover_conditions(tiny) == {"max_docs": 100}


def test_ilm_policy_rolls_over_in_the_hot_phase_and_deletes_only_with_a_retention():
    kept = policies.ilm_policy(_settings(index_rollover_max_docs=10))["policy"]
    assert kept["phases"] == {"hot": {"actions": {"rollover": {"max_size": "50gb", "max_age": "30d", "max_docs": 10}}}}
    expiring = policies.ilm_policy(_settings(index_retention_days=90))["policy"]["phases"]
    assert expiring["delete"] == {"min_age": "2160h", "actions": {"delete": {}}}
    assert policies.ilm_index_settings(_settings()) == {
        "index.lifecycle.name": "news-policy",
        "index.lifecycle.rollover_alias": "news",
    }


def test_ism_policy_uses_ism_condition_names_and_attaches_to_the_current_generation():
    policy = policies.ism_policy(_settings(index_rollover_max_docs=10))["policy"]
    assert policy["default_state"] == "hot"
    (hot,) = policy["states"]
    assert hot["actions"] == [{"rollover": {"min_size": "50gb", "min_index_age": "30d", "min_doc_count": 10}}]
    assert hot["transitions"] == []
    assert policy["ism_template"] == [{"index_patterns": [f"news-v{mapping.TEMPLATE_VERSION}-*"], "priority": 100}]
    assert policies.ism_index_settings(_settings()) == {"plugins.index_state_management.rollover_alias": "news"}


def test_ism_policy_with_retention_moves_to_a_delete_state_counted_from_the_rollover():
    hot, delete = policies.ism_policy(_settings(index_retention_days=1.5))["policy"]["states"]
    assert hot["transitions"] == [{"state_name": "delete", "conditions": {"min_rollover_age": "36h"}}]
    assert delete == {"name": "delete", "actions": [{"delete": {}}], "transitions": []}
