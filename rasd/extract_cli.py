"""`rasd extract PAGE.html` and `rasd eval extraction DIR`: the ingest
stage's extraction run by hand on a saved page, and scored over an
evaluation set. Both build the ``FetchedPage`` the crawler would have sent
and call ``ingest.extraction.extract_article`` as the ingest worker does, so
what they show is what the pipeline would index."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ingest.evaluation import EvalReport, EvalSetError, PageContext, PageResult, evaluate_dir, sources_file
from ingest.logs import configure_logging
from ingest.models import FetchedPage, compress, utcnow
from ingest.settings import Settings
from ingest.source_profiles import SourceProfile, SourceProfileError, load_profiles

if TYPE_CHECKING:
    from ingest.extraction import ExtractionError

eval_app = typer.Typer(no_args_is_help=True, help="Score the pipeline against evaluation sets.")

DEFAULT_SOURCE = "manual"
# Eval pages are served the way many news sites serve them: a type, no charset.
EVAL_CONTENT_TYPE = "text/html"


def fetched_page(body: bytes, url: str, *, source: str = DEFAULT_SOURCE, content_type: str | None = None,
                 fetched_at: datetime | None = None) -> FetchedPage:
    """The record the crawler publishes for a 200 response (crawlers.records.build_page)."""
    return FetchedPage(
        url=url,
        final_url=url,
        status=200,
        headers={"content-type": content_type} if content_type else {},
        fetched_at=fetched_at or utcnow(),
        source=source,
        body_zstd=compress(body),
    )


def article_record(page: FetchedPage, *, min_chars: int, profile: SourceProfile | None = None) -> dict[str, Any]:
    """The article the ingest worker would publish, as JSON-ready data with
    the body under ``text``; raises ExtractionError like the worker sees it."""
    # Imported here: trafilatura takes half a second to load, every `rasd` command would pay it.
    from ingest.extraction import extract_article

    record = extract_article(page, min_chars=min_chars, profile=profile).model_dump(mode="json")
    return {("text" if key == "body" else key): value for key, value in record.items()}


def error_record(exc: ExtractionError) -> dict[str, Any]:
    record: dict[str, Any] = {"error": "extraction", "reason": exc.reason, "detail": exc.detail}
    record["classification"] = exc.classification
    if exc.kind is not None:
        record["kind"] = exc.kind
    return record


def _settings() -> Settings:
    # Logs go to stderr once configured: stdout carries only the JSON record or the table.
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return settings


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _profile(source: str, sources: Path | None, settings: Settings) -> SourceProfile | None:
    """The source's time zone and extraction rules, from the sources file."""
    path = sources or settings.sources_file
    if path is None:
        return None
    try:
        profiles = load_profiles(path)
    except SourceProfileError as exc:
        raise typer.BadParameter(str(exc), param_hint="--sources") from exc
    if source != DEFAULT_SOURCE and source not in profiles:
        raise typer.BadParameter(f"no source {source!r} in {path}", param_hint="--source")
    return profiles.get(source)


def extract(
    page: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="saved HTML page (bytes as served)")],
    url: Annotated[Optional[str], typer.Option(help="URL the page was served at (default: file:// URL of PAGE)")] = None,
    source: Annotated[
        str, typer.Option(help="source name in the sources file: its time zone and extraction rules apply")
    ] = DEFAULT_SOURCE,
    sources: Annotated[
        Optional[Path], typer.Option(dir_okay=False, exists=True, help="sources file (default: RASD_SOURCES_FILE)")
    ] = None,
    content_type: Annotated[
        Optional[str], typer.Option("--content-type", help="HTTP Content-Type the server sent (e.g. 'text/html; charset=utf-8')")
    ] = None,
) -> None:
    """Extract one saved page exactly as the ingest stage would and print the article record as JSON (body in `text`).

    A page that is not an article prints the reason and exits 1."""
    from ingest.extraction import ExtractionError

    settings = _settings()
    profile = _profile(source, sources, settings)
    fetched = fetched_page(page.read_bytes(), url or page.resolve().as_uri(), source=source, content_type=content_type)
    try:
        record = article_record(fetched, min_chars=settings.min_article_chars, profile=profile)
    except ExtractionError as exc:
        _print_json(error_record(exc))
        raise typer.Exit(1) from exc
    _print_json(record)


def shipped_set() -> Path:
    """The evaluation set that ships with Rasd (deploy/extraction_eval)."""
    return Path(str(resources.files("deploy.extraction_eval")))


def eval_extractor(directory: Path, *, min_chars: int) -> Callable[[bytes, PageContext], dict[str, Any]]:
    """The ingest stage's extraction as the evaluator calls it: each page
    with its source's profile from the set's sources.yaml."""
    path = sources_file(directory)
    try:
        profiles = load_profiles(path) if path is not None else {}
    except SourceProfileError as exc:
        raise EvalSetError(str(exc)) from exc

    def run(body: bytes, page: PageContext) -> dict[str, Any]:
        source = page.source or "eval"
        fetched = fetched_page(body, page.url, source=source, content_type=EVAL_CONTENT_TYPE, fetched_at=page.fetched_at)
        return article_record(fetched, min_chars=min_chars, profile=profiles.get(source))

    return run


def run_eval(directory: Path, *, min_chars: int) -> EvalReport:
    return evaluate_dir(directory, eval_extractor(directory, min_chars=min_chars))


def _mark(result: PageResult, field: str) -> str:
    check = result.metadata.get(field)
    return "-" if check is None else ("yes" if check.ok else "NO")


def format_table(report: EvalReport) -> str:
    width = max([4, *(len(p.name) for p in report.pages)])
    head = f"{'page':<{width}}  {'F1':>6}  {'leaked':>6}  {'dropped':>7}  {'merged':>6}  {'title':>5}  {'date':>4}  {'lang':>4}"
    rows = [head, "-" * len(head)]
    for p in report.pages:
        rows.append(
            f"{p.name:<{width}}  {p.score.f1:>6.3f}  {len(p.score.leaked_lines):>6}  {len(p.score.dropped_paragraphs):>7}  {len(p.score.merged_lines):>6}  "
            f"{_mark(p, 'title'):>5}  {_mark(p, 'published'):>4}  {_mark(p, 'language'):>4}"
            + (f"  [{p.error}]" if p.error else "")
        )
    t = report.totals
    acc = {name: f"{a.correct}/{a.checked} ({a.accuracy:.0%})" for name, a in t.metadata.items()}
    rows += [
        "-" * len(head),
        f"pages {t.pages} (errors {t.errors})  precision {t.precision:.3f}  recall {t.recall:.3f}  F1 {t.f1:.3f}  "
        f"mean page F1 {t.mean_f1:.3f}",
        f"leaked lines {t.leaked_lines} on {t.pages_with_leaks} pages  dropped paragraphs {t.dropped_paragraphs} "
        f"on {t.pages_with_drops} pages  merged lines {t.merged_lines}",
        f"title {acc['title']}  published {acc['published']}  language {acc['language']}",
    ]
    return "\n".join(rows)


@eval_app.command("extraction")
def eval_extraction(
    directory: Annotated[
        Optional[Path], typer.Argument(file_okay=False, exists=True, help="evaluation set (default: the shipped set)")
    ] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json-out", help="write the full report (every page, every line) here")] = None,
) -> None:
    """Score the ingest stage's extraction on a folder of NAME.html + NAME.txt (+ NAME.json) pages.

    Prints a table (F1, leaked lines, dropped paragraphs, metadata right or wrong per page) and the totals."""
    try:
        report = run_eval(directory or shipped_set(), min_chars=_settings().min_article_chars)
    except EvalSetError as exc:
        typer.echo(f"rasd eval extraction: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(format_table(report))
    if json_out is not None:
        json_out.write_text(report.model_dump_json(indent=2), encoding="utf-8")
        typer.echo(f"report: {json_out}")
