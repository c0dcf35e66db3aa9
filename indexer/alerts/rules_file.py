"""The rules file (YAML): loading with every problem reported (file, rule,
field, what is wrong, with its line) and round-trip editing that keeps the
user's comments and order (``rasd rules add|remove``)."""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from indexer.alerts.rules import NAME_HINT, NAME_RE, ChannelSpec, Rule, RulesError, RulesFile, reference_problems


# -- loading --------------------------------------------------------------


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long alias list onto new lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _line(container: Any, key: Any) -> int | None:
    try:
        return int(container.lc.item(key)[0]) + 1  # ruamel lines are 0-based
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def _deep_line(container: Any, loc: tuple[Any, ...]) -> int | None:
    """Line of the innermost node of ``loc`` that the YAML still has."""
    line = None
    for key in loc:
        line = _line(container, key) or line
        try:
            container = container[key]
        except (KeyError, IndexError, TypeError):
            break
    return line


def field_path(loc: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def describe_error(err: Any) -> str:
    """A pydantic error's message in the words the rules file's users see."""
    if err["type"] == "extra_forbidden":
        return "unknown field"
    if err["type"] == "missing":
        return "required field missing"
    return str(err["msg"]).removeprefix("Value error, ")


class _Problems:
    """Collects problem lines, each naming the file, the line when known,
    the rule and the field."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.lines: list[str] = []

    def add(self, where: str, message: str, line: int | None = None) -> None:
        at = f"{self.origin}:{line}" if line else self.origin
        self.lines.append(f"{at}: {where}: {message}" if where else f"{at}: {message}")


def _rule_label(entry: Any, index: int) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"rule {name!r} (entry {index + 1})" if isinstance(name, str) else f"rule entry {index + 1}"


def _check_channels(data: dict[str, Any], problems: _Problems) -> set[str]:
    channels = data.get("channels") or {}
    if not isinstance(channels, dict):
        problems.add("channels", "expected a mapping of channel name -> {type, url}", _line(data, "channels"))
        return set()
    for name, spec in channels.items():
        line = _line(channels, name)
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.add(f"channel {name!r}", f"bad name: {NAME_HINT}", line)
        try:
            ChannelSpec.model_validate(spec)
        except ValidationError as exc:
            for err in exc.errors():
                problems.add(f"channel {name!r}, field {field_path(err['loc']) or '-'}", describe_error(err), line)
    return {name for name in channels if isinstance(name, str)}


def _check_rules(data: dict[str, Any], channel_names: set[str], problems: _Problems) -> None:
    rules = data.get("rules")
    if rules is None:
        return
    if not isinstance(rules, list):
        problems.add("rules", "expected a list of rules", _line(data, "rules"))
        return
    for i, entry in enumerate(rules):
        label, line = _rule_label(entry, i), _line(rules, i)
        if not isinstance(entry, dict):
            problems.add(label, "expected a mapping (name, any_of, ...)", line)
            continue
        try:
            Rule.model_validate(entry)
        except ValidationError as exc:
            for err in exc.errors():
                field = field_path(err["loc"])
                problems.add(f"{label}, field {field}" if field else label, describe_error(err), _deep_line(entry, err["loc"]) or line)
    for i, field, message in reference_problems(list(rules), channel_names):
        entry = rules[i]
        problems.add(f"{_rule_label(entry, i)}, field {field}", message, _line(entry, field) or _line(rules, i))


def parse_rules(data: Any, origin: str = "<rules>") -> RulesFile:
    """Validate already-loaded YAML data; raises RulesError with every problem."""
    problems = _Problems(origin)
    if data is None:
        return RulesFile()
    if not isinstance(data, dict):
        raise RulesError([f"{origin}: expected a mapping with 'channels' and 'rules', got {type(data).__name__}"])
    for key in data:
        if key not in RulesFile.model_fields:
            problems.add(f"field {key}", "unknown field (expected channels, rules)", _line(data, key))
    channel_names = _check_channels(data, problems)
    _check_rules(data, channel_names, problems)
    if problems.lines:
        raise RulesError(problems.lines)
    return RulesFile.model_validate(data)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError([f"{path}: cannot read rules file: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise RulesError([f"{path}: rules file is not UTF-8: {exc}"]) from exc
    try:
        return _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        what = exc.problem or exc.context or "syntax error"
        raise RulesError([f"{where}: not valid YAML: {what}"]) from exc
    except YAMLError as exc:
        raise RulesError([f"{path}: not valid YAML: {exc}"]) from exc


def load_rules(path: str | Path) -> RulesFile:
    """Read and validate a rules file; raises RulesError listing every problem."""
    path = Path(path)
    return parse_rules(_read(path), origin=str(path))


# -- editing --------------------------------------------------------------


def _write(path: Path, data: Any) -> None:
    buffer = io.StringIO()
    _yaml().dump(data, buffer)
    # Written beside the file and renamed: a crash never leaves half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_for_edit(path: Path) -> Any:
    if not path.exists():
        return _yaml().load("channels: {}\nrules: []\n")
    data = _read(path)
    if data is None:
        data = _yaml().load("rules: []\n")
    return data


def add_rule(path: str | Path, rule: Rule) -> RulesFile:
    """Append ``rule`` to the rules file (created if missing), keeping the
    rest of the file as it was. The edited file must validate, else nothing
    is written."""
    path = Path(path)
    data = _load_for_edit(path)
    if not isinstance(data, dict):
        raise RulesError([f"{path}: expected a mapping with 'channels' and 'rules'"])
    if data.get("rules") is None:
        data["rules"] = []
    rules = data["rules"]
    if isinstance(rules, list) and any(isinstance(r, dict) and r.get("name") == rule.name for r in rules):
        raise RulesError([f"{path}: rule {rule.name!r} already exists (remove it first)"])
    rules.append(rule.to_yaml())
    parsed = parse_rules(data, origin=str(path))
    _write(path, data)
    return parsed


def remove_rule(path: str | Path, name: str) -> RulesFile:
    """Delete the rule ``name`` from the rules file, keeping the rest."""
    path = Path(path)
    data = _read(path)
    rules = data.get("rules") if isinstance(data, dict) else None
    found = [i for i, r in enumerate(rules or []) if isinstance(r, dict) and r.get("name") == name]
    if not found:
        raise RulesError([f"{path}: no rule named {name!r}"])
    del rules[found[0]]
    parsed = parse_rules(data, origin=str(path))
    _write(path, data)
    return parsed
