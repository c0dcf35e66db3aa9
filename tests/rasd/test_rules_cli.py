"""`rasd rules list|add|remove|apply|test` against the real OpenSearch (the
engine-down and bad-input cases need no stack)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from indexer.alerts.rules_index import list_stored_rules
from indexer.engines.detect import open_engine
from tests.indexer.alerts.rules_support import drop_rules_indices
from ingest.settings import Settings
from rasd.cli import app

runner = CliRunner()

RULES = """\
# desk rules
channels:
  ops:
    type: webhook
    url: http://127.0.0.1:9/hook
rules:
  - name: baku   # the capital
    any_of: [Baku, باكو]
"""


@pytest.fixture
def rules_path(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


@pytest.fixture
def env(settings: Settings, rules_path: Path) -> Iterator[dict[str, str]]:
    yield {
        "RASD_SEARCH_URL": settings.search_url,
        "RASD_RULES_INDEX": settings.rules_index,
        "RASD_RULES_FILE": str(rules_path),
        "RASD_LOG_LEVEL": "WARNING",
    }
    engine = open_engine(settings.search_url)
    drop_rules_indices(engine, settings.rules_index)
    engine.close()


def _rules(args: list[str], env: dict[str, str]):
    return runner.invoke(app, ["rules", *args], env=env)


def _stored_names(settings: Settings) -> list[str]:
    engine = open_engine(settings.search_url)
    try:
        return sorted(r["name"] for r in list_stored_rules(engine, settings))
    finally:
        engine.close()


def test_add_apply_list_and_remove_keep_the_file_and_the_index_in_step(env, settings, rules_path):
    added = _rules(
        ["add", "karabakh", "--term", "قره باغ", "--term", "Qarabağ*", "--all-of", "هدنة|ceasefire",
         "--none-of", "football", "--language", "ar", "--language", "az", "--severity", "high",
         "--channel", "ops", "--cooldown", "10m", "--digest"],
        env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "created: 2 (baku, karabakh)" in added.stdout  # the file was never applied before
    text = rules_path.read_text(encoding="utf-8")
    assert "# desk rules" in text and "# the capital" in text and "cooldown: 10m" in text
    assert _stored_names(settings) == ["baku", "karabakh"]

    listed = _rules(["list", "--json"], env)
    assert listed.exit_code == 0, listed.output
    states = {r["name"]: r for r in json.loads(listed.stdout)}
    assert states["karabakh"]["state"] == "in sync" and states["baku"]["state"] == "in sync"
    assert states["karabakh"]["all_of"] == [["هدنة", "ceasefire"]] and states["karabakh"]["cooldown_s"] == 600

    removed = _rules(["remove", "baku"], env)
    assert removed.exit_code == 0 and "deleted: 1 (baku)" in removed.stdout
    assert _stored_names(settings) == ["karabakh"]
    assert "# desk rules" in rules_path.read_text(encoding="utf-8")


def test_list_tells_apart_applied_unapplied_and_stored_only_rules(env, settings, rules_path):
    assert _rules(["apply"], env).exit_code == 0
    assert _rules(["add", "shusha", "--term", "Shusha", "--no-apply"], env).exit_code == 0
    rules_path.write_text(rules_path.read_text(encoding="utf-8").replace("[Baku, باكو]", "[Baku]"), encoding="utf-8")
    listed = _rules(["list"], env)
    assert listed.exit_code == 0, listed.output
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert lines["baku"].endswith("changed, not applied") and lines["shusha"].endswith("not applied")
    rules_path.write_text(RULES.replace("name: baku", "name: ganja"), encoding="utf-8")
    listed = _rules(["list"], env)
    assert "baku" in listed.stdout and "stored only (apply deletes it)" in listed.stdout


def test_apply_of_an_invalid_file_prints_every_problem_and_syncs_nothing(env, settings, rules_path):
    rules_path.write_text(
        "rules:\n  - name: Bad\n    any_of: [x]\n  - name: ok\n    any_of: [y]\n    cooldown: 10x\n", encoding="utf-8"
    )
    result = _rules(["apply"], env)
    assert result.exit_code == 1
    problems = result.stderr.strip().splitlines()
    assert len(problems) == 2
    assert problems[0].startswith(f"{rules_path}:2: rule 'Bad' (entry 1), field name: bad name 'Bad'")
    assert problems[1].startswith(f"{rules_path}:6: rule 'ok' (entry 2), field cooldown: bad duration '10x'")
    assert _stored_names(settings) == []


def test_test_prints_matches_with_their_words_and_json(env, settings, tmp_path):
    articles = tmp_path / "articles.jsonl"
    lines = [
        {"title": "في باكو", "text": "قمة في باكو اليوم", "language": "ar"},
        {"title": "elsewhere", "text": "nothing here", "language": "en"},
        {"title": "Baku talks", "text": "talks held in Baku", "language": "en"},
    ]
    articles.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in lines) + "\n", encoding="utf-8")
    result = _rules(["test", "baku", "--input", str(articles)], env)
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0].startswith("MATCH") and "[باكو]" in out[0]
    assert out[1].startswith("no match") and out[2].startswith("MATCH") and "[Baku]" in out[2]
    assert out[3] == "2 of 3 article(s) match rule 'baku'"
    as_json = json.loads(_rules(["test", "baku", "--input", str(articles), "--json"], env).stdout)
    assert [r["matched"] for r in as_json] == [True, False, True] and as_json[2]["matched_terms"] == ["Baku"]
    assert _stored_names(settings) == []  # nothing was stored


def test_test_names_every_bad_input_line(tmp_path, rules_path):
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"title": "a", "text": "b", "language": "en"}\n{not json\n\n[1, 2]\n{"title": "a"}\n', encoding="utf-8")
    env = {"RASD_RULES_FILE": str(rules_path), "RASD_SEARCH_URL": "http://127.0.0.1:1", "RASD_LOG_LEVEL": "WARNING"}
    result = _rules(["test", "baku", "--input", str(articles)], env)
    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert [e.split(": ", 1)[0] for e in errors] == [f"{articles}:2", f"{articles}:4", f"{articles}:5"]
    assert "not valid JSON" in errors[0] and "missing or not a string: text, language" in errors[2]
    unknown = _rules(["test", "ganja", "--input", str(articles)], env)
    assert unknown.exit_code == 1 and "no rule named 'ganja'" in unknown.stderr


def test_list_still_shows_the_file_when_the_engine_is_down(rules_path):
    env = {"RASD_RULES_FILE": str(rules_path), "RASD_SEARCH_URL": "http://127.0.0.1:1", "RASD_LOG_LEVEL": "WARNING"}
    result = _rules(["list"], env)
    assert result.exit_code == 0
    assert "search engine not reachable, stored state unknown" in result.stderr
    assert "baku" in result.stdout and result.stdout.splitlines()[1].endswith("unknown")


def test_add_reports_every_problem_of_the_new_rule_and_leaves_the_file_alone(rules_path):
    env = {"RASD_RULES_FILE": str(rules_path), "RASD_SEARCH_URL": "http://127.0.0.1:1", "RASD_LOG_LEVEL": "WARNING"}
    result = _rules(["add", "Bad Name", "--cooldown", "5x", "--severity", "urgent", "--no-apply"], env)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "rule 'Bad Name', field name: bad name 'Bad Name': use 1-64 of a-z 0-9 _ -, starting with a letter or digit",
        "rule 'Bad Name', field severity: Input should be 'low', 'medium', 'high' or 'critical'",
        "rule 'Bad Name', field cooldown: bad duration '5x': use a number with s, m, h or d (45s, 10m, 2h, 1d)",
        "rule 'Bad Name': no matching clause: give at least one of any_of (terms), all_of, near",
    ]
    assert rules_path.read_text(encoding="utf-8") == RULES
