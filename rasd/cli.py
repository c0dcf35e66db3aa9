"""`rasd`: one command, a subcommand per stage and for the local stack."""
from __future__ import annotations

import dataclasses
import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from ingest.logs import configure_logging
from ingest.settings import Settings
from rasd.alerts_cli import alerts_app, notify
from rasd.extract_cli import eval_app, extract
from rasd.kibana import kibana_app
from rasd.rules_cli import rules_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Rasd media-monitoring ingestion.")
stack_app = typer.Typer(no_args_is_help=True, help="Local stack: Kafka, OpenSearch, Elasticsearch on 127.0.0.1.")
app.add_typer(stack_app, name="stack")
sources_app = typer.Typer(no_args_is_help=True, help="The sources file: validate it and see what it leads to.")
app.add_typer(sources_app, name="sources")
app.add_typer(rules_app, name="rules")
app.add_typer(alerts_app, name="alerts")
app.command("notify")(notify)
app.command("extract")(extract)
app.add_typer(eval_app, name="eval")
app.add_typer(kibana_app, name="kibana")

# The stack's service names, without importing the stack code at start-up.
SERVICES = ("kafka", "opensearch", "elasticsearch")
ServicesOpt = Annotated[Optional[list[str]], typer.Option("--service", "-s", help="Limit to these services (repeatable).")]


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return settings


def _stop_on_sigterm() -> threading.Event:
    """An event set by SIGTERM (docker stop, kill): workers finish and commit
    the batch in flight, leave their consumer group, and exit 0."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop


def _stats_json(stats: object) -> str:
    """A stage's stats dataclass as the JSON it prints when it stops; private
    fields (an IngestStats lock) are no figures and would not serialize."""
    return json.dumps({f.name: getattr(stats, f.name) for f in dataclasses.fields(stats) if not f.name.startswith("_")},  # type: ignore[arg-type]
                      indent=2, default=str)


def _stack(action: str, *args: object) -> object:
    """Run a stack manager action; its StackErrors are the user's to fix, so
    they are printed plainly, without a traceback."""
    from deploy.stack import manager
    from deploy.stack.errors import StackError

    try:
        return getattr(manager, action)(*args)
    except StackError as exc:
        typer.echo(f"rasd stack {action}: {exc}", err=True)
        raise typer.Exit(1) from exc


def _services(chosen: list[str] | None) -> tuple[str, ...]:
    chosen = chosen or list(SERVICES)
    unknown = sorted(set(chosen) - set(SERVICES))
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {unknown}; choose from {list(SERVICES)}")
    return tuple(chosen)


@stack_app.command("fetch")
def stack_fetch() -> None:
    """Download the servers from Maven Central into the stack cache (idempotent)."""
    _stack("fetch", _settings())


@stack_app.command("up")
def stack_up(service: ServicesOpt = None) -> None:
    """Fetch if needed, start what is not running, wait until healthy."""
    for name, url in _stack("up", _settings(), _services(service)).items():
        typer.echo(f"{name}: {url}")


@stack_app.command("down")
def stack_down(service: ServicesOpt = None) -> None:
    """Stop the local servers (SIGTERM, then SIGKILL after a grace period)."""
    _stack("down", _settings(), _services(service))


@stack_app.command("wipe")
def stack_wipe(service: ServicesOpt = None) -> None:
    """Delete the data of stopped servers (downloads are kept)."""
    _stack("wipe", _settings(), _services(service))


@stack_app.command("status")
def stack_status() -> None:
    """Show each local server's process, port and health."""
    typer.echo(json.dumps(_stack("status", _settings()), indent=2, default=str))


def _sources_path(sources: Path | None, settings: Settings) -> Path:
    path = sources or settings.sources_file
    if path is None:
        raise typer.BadParameter("no sources: pass --sources or set RASD_SOURCES_FILE")
    return path


def _load_sources(path: Path) -> list:  # type: ignore[type-arg]
    from crawlers.sources import SourcesFileError, load_sources

    try:
        return load_sources(path)
    except SourcesFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


@app.command()
def crawl(
    sources: Annotated[Optional[Path], typer.Option(help="sources YAML (default: RASD_SOURCES_FILE)")] = None,
    once: Annotated[bool, typer.Option("--once", help="one pass over the sources, then exit (no crawl state)")] = False,
) -> None:
    """Crawl the sources continuously (until SIGTERM or Ctrl-C) and publish pages to Kafka; --once: one pass.

    The crawl state lives in the URL status index of the search engine at RASD_SEARCH_URL, shared by every crawler
    process; the sources file is re-read while the crawl runs."""
    from crawlers.run import CrawlError
    from crawlers.run import crawl as run_crawl
    from ingest.kafka_io import ensure_topics

    from ingest.logs import bind_process

    settings = _settings()
    # the crawl child process serves the metrics (crawlers/metrics.py): it does the work
    bind_process(stage="crawl")
    path = _sources_path(sources, settings)
    loaded = _load_sources(path)
    ensure_topics(settings)
    try:
        report = run_crawl(settings, loaded, continuous=not once, sources_file=None if once else path)
    except CrawlError as exc:
        typer.echo(f"crawl failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(report.model_dump(), indent=2, default=str))
    if not report.ok:
        raise typer.Exit(1)


@sources_app.command("check")
def sources_check(
    sources: Annotated[Optional[Path], typer.Option(help="sources YAML (default: RASD_SOURCES_FILE)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    discover: Annotated[bool, typer.Option("--discover/--no-discover", help="fetch homepages, robots.txt, feeds and sitemaps")] = True,
) -> None:
    """Validate the sources file and report what each source leads to (feeds, sitemaps, links found).

    Mistakes name the source, the field and what is wrong (exit 2); unreachable listings exit 1, and so do
    addresses the crawler refuses (private, loopback, link-local, metadata; see RASD_CRAWL_ALLOWED_NETWORKS)."""
    from dataclasses import asdict

    from crawlers.addresses import AddressPolicy
    from crawlers.check import check_source, http_fetcher, render

    settings = _settings()
    loaded = _load_sources(_sources_path(sources, settings))
    if not discover:
        typer.echo(f"{len(loaded)} source(s) valid: {', '.join(s.name for s in loaded)}")
        return
    # the crawler's SSRF policy: a source the crawl would refuse is reported, not fetched
    fetch = http_fetcher(settings.user_agent_header, AddressPolicy.from_settings(settings),
                         timeout_s=min(settings.crawl_download_timeout_s, 15.0))
    reports = [check_source(source, fetch, settings.crawl_user_agent) for source in loaded]
    if as_json:
        typer.echo(json.dumps([{**asdict(r), "ok": r.ok} for r in reports], indent=2, ensure_ascii=False))
    else:
        typer.echo(render(reports))
    raise typer.Exit(0 if all(r.ok for r in reports) else 1)


@sources_app.command("health")
def sources_health(
    window: Annotated[Optional[str], typer.Option(
        help="the recent span judged: 30m, 24h, 7d (default 24h, RASD_HEALTH_WINDOW_S)")] = None,
    baseline: Annotated[Optional[str], typer.Option(
        help="the span before it compared with (default 7d, RASD_HEALTH_BASELINE_S)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON array, for scripts")] = False,
) -> None:
    """Per-source extraction health: empty, not-article, no-title and no-date shares, mean body and furniture
    per page over the window; sources whose rates jumped against the baseline (a site redesign) are flagged (!).

    Exit 1 when the search engine cannot be reached."""
    from ingest.engines.errors import EngineError
    from rasd.sources_health import parse_span, render_json, render_table, source_health

    settings = _settings()
    try:
        window_s = parse_span(window) if window else settings.health_window_s
        baseline_s = parse_span(baseline) if baseline else settings.health_baseline_s
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        report = source_health(settings, window_s=window_s, baseline_s=baseline_s)
    except EngineError as exc:
        typer.echo(f"rasd sources health: cannot read the extraction log {settings.extraction_log_index}: {exc}",
                   err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(render_json(report))
    else:
        typer.echo(render_table(report, window_s=window_s, baseline_s=baseline_s, index=settings.extraction_log_index))


@app.command()
def ingest(drain: Annotated[bool, typer.Option(help="stop once the pages topic is drained")] = False) -> None:
    """Run the ingest worker: pages -> extraction -> articles / dead letters."""
    # before the slow start (imports, topics, the stores): a SIGTERM then
    # still ends in a clean exit 0
    stop = _stop_on_sigterm()
    from ingest.gc_tuning import tune_for_worker
    from ingest.kafka_io import ensure_topics
    from ingest.observability import observe
    from ingest.worker import run_ingest

    settings = _settings()
    with observe(settings, "ingest") as observed:
        ensure_topics(settings)
        tune_for_worker()
        stats = run_ingest(settings, stop=stop, until_end=drain, liveness=observed.liveness)
    typer.echo(_stats_json(stats))


index_app = typer.Typer(help="The indexer (no subcommand: run it) and the articles index's lifecycle.")
app.add_typer(index_app, name="index")
SearchUrlOpt = Annotated[Optional[str], typer.Option(help="engine URL (default: RASD_SEARCH_URL)")]


def _index_settings(search_url: str | None) -> Settings:
    settings = _settings()
    return settings.model_copy(update={"search_url": search_url}) if search_url else settings


@index_app.callback(invoke_without_command=True)
def index(
    ctx: typer.Context,
    search_url: SearchUrlOpt = None,
    drain: Annotated[bool, typer.Option(help="stop once the articles topic is drained")] = False,
) -> None:
    """Run the indexer: articles -> bulk -> Elasticsearch or OpenSearch (runs `index setup` first)."""
    if ctx.invoked_subcommand is not None:
        return
    stop = _stop_on_sigterm()
    from indexer.engines.detect import open_configured_engine
    from indexer.worker import run_indexer
    from ingest.kafka_io import ensure_topics
    from ingest.observability import observe

    settings = _index_settings(search_url)
    with observe(settings, "index") as observed:
        ensure_topics(settings)
        engine = open_configured_engine(settings)
        try:
            stats = run_indexer(settings, engine, stop=stop, until_end=drain, liveness=observed.liveness)
        finally:
            engine.close()
    typer.echo(_stats_json(stats))


@index_app.command("setup")
def index_setup(search_url: SearchUrlOpt = None) -> None:
    """Install the index template, the lifecycle policy (ILM/ISM where the engine has it) and the write alias.

    Idempotent. Where the engine has no ILM/ISM, the running indexer rolls over and expires indices itself."""
    from indexer.engines.detect import open_configured_engine
    from indexer.lifecycle import setup_index

    settings = _index_settings(search_url)
    engine = open_configured_engine(settings)
    try:
        setup = setup_index(engine, settings)  # type: ignore[arg-type]
    finally:
        engine.close()
    typer.echo(json.dumps({"write_index": setup.write_index, "lifecycle": setup.managed_by_engine or "indexer"}))


@index_app.command("migrate")
def index_migrate(
    search_url: SearchUrlOpt = None,
    keep_old: Annotated[bool, typer.Option("--keep-old", help="keep the old indices (out of the alias, write-blocked)")] = False,
) -> None:
    """Move the articles to the current template generation (reindex), while indexers keep writing.

    New writes go to the new generation first; old documents are copied without overwriting newer ones;
    then the old indices leave the alias and are deleted (or kept with --keep-old). Safe to run again."""
    from dataclasses import asdict

    from indexer.engines.detect import open_configured_engine
    from indexer.migrate import migrate

    settings = _index_settings(search_url)
    engine = open_configured_engine(settings)
    try:
        report = migrate(engine, settings, keep_old=keep_old)  # type: ignore[arg-type]
    finally:
        engine.close()
    typer.echo(json.dumps(asdict(report), indent=2))


@app.command()
def check(
    kafka: Annotated[bool, typer.Option("--kafka/--no-kafka", help="check the Kafka brokers")] = True,
    search: Annotated[bool, typer.Option("--search/--no-search", help="check the search engine")] = False,
) -> None:
    """Health check for containers: exit 0 when the named dependencies answer."""
    from rasd.health import check_kafka, check_search

    settings = _settings()
    problems = []
    if kafka:
        problems += check_kafka(settings)
    if search:
        problems += check_search(settings)
    for problem in problems:
        typer.echo(problem, err=True)
    raise typer.Exit(1 if problems else 0)


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="the same data as one JSON object, for scripts")] = False,
    search_url: Annotated[Optional[list[str]], typer.Option(
        "--search-url", help="engine(s) whose documents are counted (repeatable; default: RASD_SEARCH_URL)")] = None,
    window: Annotated[float, typer.Option(min=0.5, max=30, help="seconds between the two samples of the rates")] = 3.0,
    tail: Annotated[int, typer.Option(min=1, help="dead letters read per partition, newest first")] = 1000,
) -> None:
    """The pipeline on one screen: each stage's consumer lag and rate, recent dead letters by reason,
    documents per engine, last crawl per source. A part whose server is down says so; the rest is shown."""
    from rasd.status import pipeline_status, render_json, render_table

    report = pipeline_status(_settings(), search_urls=search_url, window_s=window, tail=tail)
    typer.echo(render_json(report) if as_json else render_table(report))


@app.command("demo-site")
def demo_site(port: Annotated[Optional[int], typer.Option(help="port (default: RASD_DEMO_SITE_PORT)")] = None,
              host: str = "127.0.0.1") -> None:
    """Serve the bundled demo Arabic news site until interrupted."""
    from deploy.demo_site.server import serve

    settings = _settings()
    serve(host, port if port is not None else settings.demo_site_port)


@app.command()
def bench(
    articles: Annotated[int, typer.Option(help="articles on the generated site")] = 1000,
    engine: Annotated[str, typer.Option(help="opensearch or elasticsearch")] = "opensearch",
    timeout: Annotated[float, typer.Option(help="seconds to wait for the streaming run")] = 600.0,
    steady: Annotated[bool, typer.Option(help="then publish articles at a fixed rate for minutes: latency")] = False,
    rate: Annotated[
        Optional[float], typer.Option(min=0.01, help="steady articles/s (default: half the burst's end-to-end rate)")
    ] = None,
    minutes: Annotated[float, typer.Option(min=0.05, help="length of the steady run")] = 3.0,
) -> None:
    """Pipeline benchmark on a generated copy of the demo site: prints figures."""
    from rasd.bench import run_benchmark

    if engine not in ("opensearch", "elasticsearch"):
        raise typer.BadParameter("engine must be opensearch or elasticsearch")
    settings = _settings().model_copy(update={"log_level": "WARNING"})
    configure_logging("WARNING")
    typer.echo(run_benchmark(settings, articles, engine, timeout,
                             steady_rate=rate, steady_minutes=minutes if steady else None))


@app.command("bench-scale")
def bench_scale(
    pages: Annotated[int, typer.Option(help="generated pages, produced once to the pages topic of each run")] = 2000,
    engine: Annotated[str, typer.Option(help="opensearch or elasticsearch")] = "opensearch",
    timeout: Annotated[float, typer.Option(help="seconds to wait for each run")] = 900.0,
) -> None:
    """Scale benchmark: the same pages through one ingest worker and one indexer process, then two of each
    in the same consumer groups; pages/s end to end, the ratio and the machine's CPU use. Prints figures."""
    from rasd.bench_scale import run_benchmark

    if engine not in ("opensearch", "elasticsearch"):
        raise typer.BadParameter("engine must be opensearch or elasticsearch")
    settings = _settings().model_copy(update={"log_level": "WARNING"})
    configure_logging("WARNING")
    typer.echo(run_benchmark(settings, pages, engine, timeout))


@app.command("bench-crawl")
def bench_crawl(
    hosts: Annotated[int, typer.Option(help="generated news sites, each on its own loopback address")] = 20,
    articles: Annotated[int, typer.Option(help="articles shared by the sites")] = 10_000,
    engine: Annotated[str, typer.Option(help="status index engine: opensearch or elasticsearch")] = "opensearch",
    timeout: Annotated[float, typer.Option(help="seconds to wait for each crawl run")] = 900.0,
) -> None:
    """Crawl benchmark on a generated universe of sites: one and two continuous crawlers, and scrapy bench."""
    from rasd.bench_crawl import run_crawl_benchmark

    if engine not in ("opensearch", "elasticsearch"):
        raise typer.BadParameter("engine must be opensearch or elasticsearch")
    settings = _settings().model_copy(update={"log_level": "WARNING"})
    configure_logging("WARNING")
    typer.echo(run_crawl_benchmark(settings, hosts, articles, engine, timeout))


@app.command("bench-alerts")
def bench_alerts(
    articles: Annotated[int, typer.Option(help="generated articles per throughput run")] = 2000,
    rate: Annotated[float, typer.Option(help="matching articles per second in the latency run")] = 5.0,
) -> None:
    """Alert benchmark on OpenSearch: indexing with 0, 1,000 and 10,000 rules;
    indexed -> alert emitted -> webhook delivered latency. Prints figures."""
    from rasd.bench_alerts import run_benchmark

    typer.echo(run_benchmark(_settings(), articles=articles, rate_per_s=rate))


@app.command("bench-index")
def bench_index(
    articles: Annotated[int, typer.Option(help="generated Arabic articles per run")] = 5000,
) -> None:
    """Indexer benchmark on the local stack: indexer docs/s beside a raw _bulk of the same
    pre-serialized documents (the ceiling), on OpenSearch and Elasticsearch. Prints figures."""
    from rasd.bench_index import run_benchmark

    settings = _settings().model_copy(update={"log_level": "WARNING"})
    configure_logging("WARNING")
    typer.echo(run_benchmark(settings, articles))


@app.command("bench-extract")
def bench_extract(
    pages: Annotated[int, typer.Option(help="generated pages beside the evaluation set")] = 2000,
) -> None:
    """Extraction benchmark, one process: rasd vs bare trafilatura (and the
    readability-lxml and newspaper4k peers when installed), speed and quality."""
    from rasd.bench_extract import run_benchmark

    _settings()
    typer.echo(run_benchmark(pages))


@app.command()
def reextract(
    source: Annotated[
        Optional[list[str]], typer.Option("--source", help="source name (repeatable); default: every source")
    ] = None,
    since: Annotated[
        Optional[str], typer.Option(help="only pages fetched at or after this ISO 8601 date/time (default: all kept)")
    ] = None,
) -> None:
    """Extract stored raw pages again after an extraction fix; the indexer updates the documents in place.

    Reads the pages topic (nothing is fetched again), runs the ingest stage's own code on the pages of the
    chosen sources and sends the articles under their old ids."""
    from rasd.reextract import reextract_command

    reextract_command(source, since)


@app.command("bench-ingest")
def bench_ingest(
    pages: Annotated[int, typer.Option(help="generated pages beside the evaluation set")] = 2000,
    rounds: Annotated[int, typer.Option(min=1, help="worker runs per corpus, each between two bare trafilatura runs")] = 3,
) -> None:
    """Ingest benchmark on the local stack: one ingest worker vs bare trafilatura on the same pages,
    and two workers in one group vs one. Prints figures."""
    from rasd.bench_ingest import run_benchmark

    _settings()
    typer.echo(run_benchmark(pages, rounds))


@app.command()
def demo() -> None:
    """The main job on the local stack: crawl -> extract -> Kafka -> index, then a report.

    Crawls the sources in RASD_SOURCES_FILE, or the bundled demo site when none are configured."""
    from deploy.stack.errors import StackError
    from rasd.demo import DemoFailed, run_demo

    try:
        report = run_demo(_settings())
    except (DemoFailed, StackError) as exc:
        typer.echo(f"demo failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(report.render())


if __name__ == "__main__":
    app()
