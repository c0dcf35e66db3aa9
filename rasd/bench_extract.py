"""Extraction benchmark (run on demand: `make bench-extract` or
`.venv/bin/rasd bench-extract`): prints figures, asserts nothing.

One process, in one run, on the same pages: the evaluation set
(deploy/extraction_eval) and a generated corpus (2,000 pages of the fixture
universe's news sites by default). For each extractor: pages/s on both
sets, and on the evaluation set the same quality scores as `rasd eval
extraction` (token F1, leaked lines, dropped paragraphs, titles right).

- rasd: `ingest.extraction.extract_article`, exactly what the ingest stage
  runs (decoding, preparation, trafilatura with metadata, dates, language,
  furniture);
- trafilatura: bare `trafilatura.extract` on the decoded HTML, the ceiling
  the issue compares against (target: rasd at >= 0.85x its speed);
- readability-lxml and newspaper4k as peers (installed by `make bench-extract`
  from the project's `bench` extra; skipped with a note when missing).
"""
from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trafilatura
from lxml import html as lxml_html

from deploy.universe.generate import generated_sites
from ingest.dates import parse_iso_datetime
from ingest.evaluation import ExpectedPage, PageContext, default_url, evaluate_dir, pages_dir, sources_file
from ingest.extraction import ExtractionError, decode_html, extract_article
from ingest.models import FetchedPage
from ingest.settings import Settings
from ingest.source_profiles import load_profiles
from ingest.trafilatura_tuning import as_shipped
from rasd.extract_cli import EVAL_CONTENT_TYPE, fetched_page, shipped_set

Page = tuple[bytes, PageContext]  # (body as served, URL, source, fetch time)
Extractor = Callable[[bytes, PageContext], dict[str, Any]]


def generated_pages(count: int) -> list[Page]:
    """``count`` article pages of the universe's generated sites, as served."""
    sites = generated_sites(hosts=max(1, count // 200), articles=count)
    pages: list[Page] = []
    for i, site in enumerate(sites):
        site.base_url = f"http://127.0.0.{101 + i}"
        pages.extend((site.article_response(a).body, PageContext(site.url(a.path))) for a in site.articles)
    return pages[:count]


def eval_pages() -> list[Page]:
    folder = pages_dir(shipped_set())
    pages = []
    for html in sorted(folder.glob("*.html")):
        meta = ExpectedPage.model_validate_json(html.with_suffix(".json").read_text("utf-8"))
        context = PageContext(meta.url or default_url(html.stem), meta.source, parse_iso_datetime(meta.fetched))
        pages.append((html.read_bytes(), context))
    return pages


def rasd_extractor(min_chars: int) -> Extractor:
    # the evaluation set's sites with their time zones, as the sources file gives them to ingest
    path = sources_file(shipped_set())
    profiles = load_profiles(path) if path is not None else {}

    # The crawler compresses each page into its Kafka record: that is not
    # extraction's work, so each record is built once, before it is timed.
    built: dict[tuple[bytes, str], FetchedPage] = {}

    def run(body: bytes, page: PageContext) -> dict[str, Any]:
        fetched = built.get((body, page.url))
        if fetched is None:
            fetched = built[(body, page.url)] = fetched_page(
                body, page.url, source=page.source or "bench", content_type=EVAL_CONTENT_TYPE, fetched_at=page.fetched_at)
        try:
            article = extract_article(fetched, min_chars=min_chars, profile=profiles.get(page.source or ""))
        except ExtractionError:
            return {"text": "", "title": None}
        return {"text": article.body, "title": article.title, "published_at": article.published_at,
                "language": article.language}
    return run


def trafilatura_extractor(body: bytes, page: PageContext) -> dict[str, Any]:
    html = decode_html(body, EVAL_CONTENT_TYPE)
    # the library as released: without the selectors Rasd swaps in (ingest.trafilatura_tuning)
    with as_shipped():
        return {"text": trafilatura.extract(html, url=page.url, include_comments=False) or "", "title": None}


def readability_extractor() -> Extractor | None:
    try:
        from readability import Document
    except ImportError:
        return None

    def run(body: bytes, page: PageContext) -> dict[str, Any]:
        doc = Document(decode_html(body, EVAL_CONTENT_TYPE), url=page.url)
        summary = lxml_html.fromstring(doc.summary(html_partial=True))
        blocks = [b.text_content().strip() for b in summary.iter("p", "h1", "h2", "h3", "li", "blockquote")]
        return {"text": "\n".join(b for b in blocks if b), "title": doc.short_title()}
    return run


def newspaper_extractor() -> Extractor | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # it warns that its optional NLP extra is missing
            from newspaper import Article as NewsArticle
            from newspaper import Config
    except ImportError:
        return None
    config = Config()
    # it would otherwise fetch each page's images over the network to pick a top image
    config.fetch_images = False

    def run(body: bytes, page: PageContext) -> dict[str, Any]:
        article = NewsArticle(page.url, config=config)
        article.download(input_html=decode_html(body, EVAL_CONTENT_TYPE))
        article.parse()
        return {"text": article.text, "title": article.title, "published_at": article.publish_date}
    return run


@dataclass
class Run:
    name: str
    eval_pages_per_s: float
    generated_pages_per_s: float
    quality: Any | None


def _speeds(extractors: dict[str, Extractor], pages: list[Page], repeat: int = 1) -> dict[str, float]:
    """Pages/s of each extractor. They take turns page by page, so a slower
    or faster spell of the machine (it is shared) falls on all of them alike."""
    spent = dict.fromkeys(extractors, 0.0)
    for _ in range(repeat):
        for body, page in pages:
            for name, extract in extractors.items():
                started = time.perf_counter()
                try:
                    extract(body, page)
                except Exception:  # a peer failing on a page still took its time
                    pass
                spent[name] += time.perf_counter() - started
    return {name: repeat * len(pages) / seconds for name, seconds in spent.items()}


def run_benchmark(generated: int = 2000) -> str:
    min_chars = Settings().min_article_chars
    ev = eval_pages()
    gen = generated_pages(generated)
    candidates: list[tuple[str, Extractor | None]] = [
        ("rasd", rasd_extractor(min_chars)),
        ("trafilatura", trafilatura_extractor),
        ("readability-lxml", readability_extractor()),
        ("newspaper4k", newspaper_extractor()),
    ]
    available = {name: extract for name, extract in candidates if extract is not None}
    missing = [name for name, extract in candidates if extract is None]
    print(f"warming up {', '.join(available)} ...", flush=True)
    # caches, lazy imports and the Kafka records outside the timing
    _speeds({"rasd": available["rasd"]}, ev + gen)
    _speeds(available, ev[:5])
    print("timing on the evaluation set ...", flush=True)
    on_eval = _speeds(available, ev, repeat=3)
    print(f"timing on {len(gen)} generated pages ...", flush=True)
    on_generated = _speeds(available, gen)
    print("scoring ...", flush=True)
    runs = [
        Run(name, on_eval[name], on_generated[name], evaluate_dir(shipped_set(), extract).totals)
        for name, extract in available.items()
    ]
    ceiling = next(r for r in runs if r.name == "trafilatura")
    lines = [f"Rasd extraction benchmark: {len(ev)} evaluation pages, {len(gen)} generated pages, one process, "
             f"{os.cpu_count()} cores"]
    for run in runs:
        lines.append(
            f"  {run.name:17s} eval {run.eval_pages_per_s:7.1f} pages/s ({run.eval_pages_per_s / ceiling.eval_pages_per_s:4.2f}x)"
            f"   generated {run.generated_pages_per_s:7.1f} pages/s ({run.generated_pages_per_s / ceiling.generated_pages_per_s:4.2f}x)"
        )
    lines.append("  quality on the evaluation set (same scorer as `rasd eval extraction`):")
    for name, q in [(r.name, r.quality) for r in runs]:
        title = q.metadata["title"]
        lines.append(
            f"  {name:17s} F1 {q.f1:.3f}  leaked lines {q.leaked_lines:3d}  dropped paragraphs {q.dropped_paragraphs:3d}"
            f"  titles {title.correct}/{title.checked}"
        )
    rasd_run = runs[0]
    lines.append(f"  target rasd >= 0.85x bare trafilatura: eval {rasd_run.eval_pages_per_s / ceiling.eval_pages_per_s:.2f}x, "
                 f"generated {rasd_run.generated_pages_per_s / ceiling.generated_pages_per_s:.2f}x")
    if missing:
        lines.append(f"  not installed, skipped: {', '.join(missing)} (`pip install -e '.[bench]'`)")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    from ingest.logs import configure_logging

    # as `rasd bench-extract` does: unconfigured, every page's debug line is
    # printed and slows rasd's figure
    _settings = Settings()
    configure_logging(_settings.log_level, _settings.log_json)
    print(run_benchmark(int(os.environ.get("PAGES", "2000"))))
