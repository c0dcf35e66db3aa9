"""`rasd rules ...`: edit the rules file, sync it into the rules index, try a
rule on articles. Every command takes ``--rules FILE`` (default:
RASD_RULES_FILE). Invalid files and engine failures exit 1."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from pydantic import ValidationError

from indexer.alerts.rules import Rule, RulesError, RulesFile
from indexer.alerts.rules_file import add_rule, describe_error, field_path, load_rules, remove_rule
from ingest.engines.errors import EngineError
from ingest.logs import configure_logging
from ingest.settings import Settings

rules_app = typer.Typer(no_args_is_help=True, help="Keyword alert rules: edit the rules file, sync it, try a rule.")

RulesOpt = Annotated[Optional[Path], typer.Option("--rules", help="rules YAML (default: RASD_RULES_FILE)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
NoApplyOpt = Annotated[bool, typer.Option("--no-apply", help="only edit the file; sync later with `rasd rules apply`")]


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return settings


def _fail(lines: list[str] | str) -> NoReturn:
    for line in [lines] if isinstance(lines, str) else lines:
        typer.echo(line, err=True)
    raise typer.Exit(1)


def _load(path: Path) -> RulesFile:
    try:
        return load_rules(path)
    except RulesError as exc:
        _fail(exc.problems)


def _engine(settings: Settings) -> Any:
    from indexer.engines.detect import open_configured_engine

    return open_configured_engine(settings)


def _apply(settings: Settings, path: Path) -> None:
    from indexer.alerts.rules_index import PercolatorUnavailable, sync_rules

    rules_file = _load(path)
    try:
        engine = _engine(settings)
        try:
            report = sync_rules(engine, settings, rules_file)
        finally:
            engine.close()
    except RulesError as exc:
        _fail(exc.problems)
    except (EngineError, PercolatorUnavailable) as exc:
        _fail(f"rasd rules apply: {exc}")
    typer.echo(f"rules index {settings.rules_index} -> {report.index}")
    for label in ("created", "updated", "unchanged", "deleted"):
        names = getattr(report, label)
        typer.echo(f"  {label}: {len(names)}" + (f" ({', '.join(names)})" if names else ""))
    if report.alias_moved:
        typer.echo(f"  alias moved to {report.index}" + (f"; removed {report.removed_indices}" if report.removed_indices else ""))


def _rule_problem(name: str, err: Any) -> str:
    where = f"rule {name!r}, field {field_path(err['loc'])}" if err["loc"] else f"rule {name!r}"
    return f"{where}: {describe_error(err)}"


def _edit(settings: Settings, path: Path, edit: Callable[[], object], done: str, no_apply: bool) -> None:
    """Run one edit of the rules file, then apply the file unless told not to."""
    try:
        edit()
    except RulesError as exc:
        _fail(exc.problems)
    typer.echo(done)
    if not no_apply:
        _apply(settings, path)


def _states(settings: Settings, rules_file: RulesFile) -> tuple[dict[str, str], list[str], str | None]:
    """Each file rule's state against the rules index, the names stored but
    no longer in the file, and why the engine could not be asked (if so)."""
    from indexer.alerts.compile import compile_rule
    from indexer.alerts.rules_index import list_stored_rules

    try:
        engine = _engine(settings)
        try:
            stored = {r.get("name"): r for r in list_stored_rules(engine, settings)}
        finally:
            engine.close()
    except EngineError as exc:
        return {r.name: "unknown" for r in rules_file.rules}, [], str(exc)
    states: dict[str, str] = {}
    for rule in rules_file.rules:
        copy = stored.get(rule.name)
        if not rule.enabled:
            states[rule.name] = "disabled, still stored (apply deletes it)" if copy else "disabled"
            continue
        try:
            digest = compile_rule(rule, rules_file.channels)["rule"]["hash"]
        except RulesError as exc:
            states[rule.name] = f"invalid: {exc}"
            continue
        if copy is None:
            states[rule.name] = "not applied"
        else:
            states[rule.name] = "in sync" if copy.get("hash") == digest else "changed, not applied"
    orphans = sorted(name for name in stored if name not in states)
    return states, orphans, None


@rules_app.command("list")
def rules_list(rules: RulesOpt = None, as_json: JsonOpt = False) -> None:
    """List the rules in the file and whether the rules index holds them as written.

    The file is listed even when the search engine is down (state "unknown")."""
    settings = _settings()
    path = rules or settings.rules_file
    rules_file = _load(path)
    states, orphans, engine_error = _states(settings, rules_file)
    if engine_error:
        typer.echo(f"search engine not reachable, stored state unknown: {engine_error}", err=True)
    if as_json:
        out = [
            {**r.model_dump(mode="json", exclude={"cooldown"}), "cooldown_s": r.cooldown, "state": states[r.name]}
            for r in rules_file.rules
        ]
        out += [{"name": name, "state": "stored only (apply deletes it)"} for name in orphans]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{len(rules_file.rules)} rule(s) in {path}")
    for r in rules_file.rules:
        terms = len(r.any_of) + sum(len(g) for g in r.all_of) + sum(len(g) for c in r.near for g in c.groups)
        typer.echo(f"  {r.name:<24} {r.severity:<8} {terms:>3} alias(es)  {states[r.name]}")
    for name in orphans:
        typer.echo(f"  {name:<24} stored only (apply deletes it)")


@rules_app.command("add")
def rules_add(
    name: Annotated[str, typer.Argument(help="rule name: a-z 0-9 _ -")],
    term: Annotated[list[str], typer.Option("--term", help="an alias; any one matches (repeatable)")] = [],  # noqa: B006
    all_of: Annotated[
        list[str], typer.Option("--all-of", help="a group of aliases separated by |; every group must match (repeatable)")
    ] = [],  # noqa: B006
    none_of: Annotated[list[str], typer.Option("--none-of", help="an alias that vetoes the match (repeatable)")] = [],  # noqa: B006
    language: Annotated[list[str], typer.Option("--language", help="only articles in this language (repeatable)")] = [],  # noqa: B006
    source: Annotated[list[str], typer.Option("--source", help="only articles of this source (repeatable)")] = [],  # noqa: B006
    tag: Annotated[list[str], typer.Option("--tag", help="only articles with this tag (repeatable)")] = [],  # noqa: B006
    severity: Annotated[str, typer.Option("--severity", help="low, medium, high or critical")] = "medium",
    channel: Annotated[list[str], typer.Option("--channel", help="a channel from the file's channels (repeatable)")] = [],  # noqa: B006
    cooldown: Annotated[Optional[str], typer.Option("--cooldown", help="45s, 10m, 2h, 1d")] = None,
    digest: Annotated[bool, typer.Option("--digest", help="send alerts held back by the cooldown as one digest")] = False,
    no_apply: NoApplyOpt = False,
    rules: RulesOpt = None,
) -> None:
    """Add a rule to the rules file (keeping its comments), then apply the file."""
    settings = _settings()
    path = rules or settings.rules_file
    data: dict[str, Any] = {"name": name, "any_of": term, "severity": severity, "digest": digest}
    for key, values in (
        ("all_of", [[a.strip() for a in group.split("|")] for group in all_of]),
        ("none_of", none_of),
        ("languages", language),
        ("sources", source),
        ("tags", tag),
        ("channels", channel),
    ):
        if values:
            data[key] = values
    if cooldown is not None:
        data["cooldown"] = cooldown
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        _fail([_rule_problem(name, e) for e in exc.errors()])
    _edit(settings, path, lambda: add_rule(path, rule), f"added rule {name!r} to {path}", no_apply)


@rules_app.command("remove")
def rules_remove(
    name: Annotated[str, typer.Argument(help="rule name")],
    no_apply: NoApplyOpt = False,
    rules: RulesOpt = None,
) -> None:
    """Remove a rule from the rules file (keeping its comments), then apply the file."""
    settings = _settings()
    path = rules or settings.rules_file
    _edit(settings, path, lambda: remove_rule(path, name), f"removed rule {name!r} from {path}", no_apply)


@rules_app.command("apply")
def rules_apply(rules: RulesOpt = None) -> None:
    """Validate the rules file and sync the rules index with it (nothing is synced when the file is invalid).

    Running workers use the new rules from their next batch on: no restart."""
    settings = _settings()
    _apply(settings, rules or settings.rules_file)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Articles from a JSONL file; every bad line is reported with its number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{path}: cannot read: {exc}")
    articles: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            article = json.loads(line)
        except ValueError as exc:
            problems.append(f"{path}:{number}: not valid JSON: {exc}")
            continue
        if not isinstance(article, dict):
            problems.append(f"{path}:{number}: expected a JSON object with title, text, language")
            continue
        missing = [k for k in ("title", "text", "language") if not isinstance(article.get(k), str)]
        if missing:
            problems.append(f"{path}:{number}: missing or not a string: {', '.join(missing)}")
            continue
        articles.append(article)
    if problems:
        _fail(problems)
    return articles


@rules_app.command("test")
def rules_test(
    rule_name: Annotated[str, typer.Argument(metavar="RULE", help="a rule name from the rules file")],
    input_file: Annotated[Path, typer.Option("--input", help="JSONL: one {title, text, language} a line")],
    as_json: JsonOpt = False,
    rules: RulesOpt = None,
) -> None:
    """Percolate the given articles against one rule on the real engine, storing nothing.

    Prints which articles match and the words that matched."""
    from indexer.alerts.rule_test import test_rule

    settings = _settings()
    rules_file = _load(rules or settings.rules_file)
    rule = rules_file.rule(rule_name)
    if rule is None:
        _fail(f"no rule named {rule_name!r} in {rules or settings.rules_file}")
    articles = read_jsonl(input_file)
    try:
        engine = _engine(settings)
        try:
            results = test_rule(engine, settings, rule, rules_file.channels, articles)
        finally:
            engine.close()
    except RulesError as exc:
        _fail(exc.problems)
    except EngineError as exc:
        _fail(f"rasd rules test: {exc}")
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in results], ensure_ascii=False, indent=2))
        return
    for r in results:
        if r.matched:
            typer.echo(f"MATCH     {r.index + 1:>4}  {r.title}  [{', '.join(r.matched_terms)}]")
        else:
            typer.echo(f"no match  {r.index + 1:>4}  {r.title}")
    typer.echo(f"{sum(r.matched for r in results)} of {len(results)} article(s) match rule {rule.name!r}")
