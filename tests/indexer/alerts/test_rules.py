"""The rules file: validation messages and comment-keeping edits (pure, no stack)."""
from __future__ import annotations

from pathlib import Path

import pytest

from indexer.alerts.rules import Rule, RulesError, parse_duration
from indexer.alerts.rules_file import add_rule, load_rules, remove_rule

GOOD = """\
# Rules of the Caucasus desk
channels:
  ops:
    type: webhook
    url: http://127.0.0.1:9999/hook   # the desk's webhook
rules:
  # the main one
  - name: karabakh
    terms: [كاراباخ, قره باغ, Qarabağ*]
    all_of:
      - [هدنة, ceasefire]
      - truce
    near:
      - groups: [[Karabakh], [ceasefire]]
        within: 8
    languages: [ar, en]
    severity: high
    channels: [ops]
    cooldown: 10m
    digest: true
  - name: baku   # second rule
    any_of: [Baku]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        load_rules(_write(tmp_path, text))
    return caught.value.problems


def test_a_valid_file_loads_with_terms_as_any_of_and_cooldown_in_seconds(tmp_path):
    loaded = load_rules(_write(tmp_path, GOOD))
    rule = loaded.rule("karabakh")
    assert rule is not None
    assert rule.any_of == ["كاراباخ", "قره باغ", "Qarabağ*"]
    assert rule.all_of == [["هدنة", "ceasefire"], ["truce"]]
    assert rule.cooldown == 600.0 and rule.digest and rule.severity == "high"
    assert rule.near[0].within == 8 and not rule.near[0].ordered
    assert loaded.channels["ops"].url == "http://127.0.0.1:9999/hook"
    assert loaded.rule("baku").severity == "medium" and loaded.rule("baku").cooldown == 0


@pytest.mark.parametrize(
    ("value", "seconds"), [("45s", 45), ("10m", 600), ("2h", 7200), ("1d", 86400), (30, 30), ("0", 0), (None, 0)]
)
def test_cooldowns_are_parsed_to_seconds(value, seconds):
    assert parse_duration(value) == seconds


def test_every_problem_is_reported_with_file_line_rule_and_field(tmp_path):
    problems = _problems(
        tmp_path,
        """\
channels:
  ops: {type: webhook, url: "http://127.0.0.1:9/hook"}
rules:
  - name: Bad Name
    any_of: [x]
  - name: dup
    any_of: [x, "  "]
    cooldown: 10x
    severity: urgent
    colour: red
  - name: dup
    any_of: [y]
    channels: [ops, pager]
  - name: proximity
    near:
      - groups: [[a], [b]]
        within: -1
  - name: nothing
    description: no clause at all
    cooldown: 5x
  - name: wildcard
    any_of: ["Qara*bağ", "a*"]
""",
    )
    text = "\n".join(problems)
    path = str(tmp_path / "rules.yaml")
    expected = [
        f"{path}:4: rule 'Bad Name' (entry 1), field name: bad name 'Bad Name'",
        f"{path}:7: rule 'dup' (entry 2), field any_of: empty alias",
        f"{path}:8: rule 'dup' (entry 2), field cooldown: bad duration '10x'",
        f"{path}:9: rule 'dup' (entry 2), field severity: Input should be 'low', 'medium', 'high' or 'critical'",
        f"{path}:10: rule 'dup' (entry 2), field colour: unknown field",
        f"{path}:11: rule 'dup' (entry 3), field name: duplicate name 'dup'",
        f"{path}:13: rule 'dup' (entry 3), field channels: unknown channel 'pager'",
        f"{path}:17: rule 'proximity' (entry 4), field near[0].within: Input should be greater than or equal to 0",
        f"{path}:18: rule 'nothing' (entry 5): no matching clause",
        f"{path}:20: rule 'nothing' (entry 5), field cooldown: bad duration '5x'",
        f"{path}:22: rule 'wildcard' (entry 6), field any_of: alias 'Qara*bağ': '*' is only allowed at the very end",
    ]
    for line in expected:
        assert line in text, f"missing {line!r} in:\n{text}"
    assert len(problems) == len(expected)


def test_a_yaml_syntax_error_names_the_line(tmp_path):
    problems = _problems(tmp_path, "rules:\n  - name: a\n    any_of: [x\n  - name: b\n")
    assert len(problems) == 1 and problems[0].startswith(f"{tmp_path / 'rules.yaml'}:4: not valid YAML")


def test_unknown_top_level_fields_and_bad_channels_are_reported(tmp_path):
    problems = _problems(tmp_path, "channels:\n  mail: {type: email, url: x}\nrulez: []\n")
    text = "\n".join(problems)
    assert "field rulez: unknown field" in text
    assert "channel 'mail', field type: Input should be 'webhook'" in text
    assert "channel 'mail', field url: not an absolute http(s) URL: 'x'" in text


def test_a_missing_file_is_a_rules_error(tmp_path):
    with pytest.raises(RulesError, match="cannot read rules file"):
        load_rules(tmp_path / "absent.yaml")


def test_add_and_remove_keep_comments_and_order(tmp_path):
    path = _write(tmp_path, GOOD)
    add_rule(path, Rule(name="shusha", any_of=["Shusha", "شوشا"], cooldown="45s", channels=["ops"]))
    text = path.read_text(encoding="utf-8")
    for comment in ("# Rules of the Caucasus desk", "# the desk's webhook", "# the main one", "# second rule"):
        assert comment in text
    assert text.index("name: karabakh") < text.index("name: baku") < text.index("name: shusha")
    added = load_rules(path).rule("shusha")
    assert added is not None and added.cooldown == 45 and added.any_of == ["Shusha", "شوشا"]

    remove_rule(path, "karabakh")
    text = path.read_text(encoding="utf-8")
    assert "karabakh" not in text and "# Rules of the Caucasus desk" in text and "# second rule" in text
    assert [r.name for r in load_rules(path).rules] == ["baku", "shusha"]


def test_add_creates_a_missing_file(tmp_path):
    path = tmp_path / "new" / "rules.yaml"
    add_rule(path, Rule(name="baku", any_of=["Baku"]))
    assert [r.name for r in load_rules(path).rules] == ["baku"]


def test_an_edit_that_would_make_the_file_invalid_writes_nothing(tmp_path):
    path = _write(tmp_path, GOOD)
    with pytest.raises(RulesError, match="unknown channel 'pager'"):
        add_rule(path, Rule(name="shusha", any_of=["Shusha"], channels=["pager"]))
    with pytest.raises(RulesError, match="already exists"):
        add_rule(path, Rule(name="baku", any_of=["Baku"]))
    with pytest.raises(RulesError, match="no rule named 'ganja'"):
        remove_rule(path, "ganja")
    assert path.read_text(encoding="utf-8") == GOOD


def test_the_example_rules_file_is_valid():
    example = Path(__file__).resolve().parents[3] / "deploy" / "rules.example.yaml"
    loaded = load_rules(example)
    assert [r.name for r in loaded.rules] == ["karabakh", "karabakh-ceasefire", "baku-summit"]
    assert "Qarabağ*" in loaded.rule("karabakh").any_of
