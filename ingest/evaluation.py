"""Scoring extraction against an evaluation set: what an analyst would have
wanted from each page (its paragraphs, title, date and language) against
what the extractor gave.

Token F1 alone hides furniture (a ten-word byline is noise in a long body),
so every page is also checked line by line: extracted lines that belong to
no expected paragraph are *leaked*, expected paragraphs missing from the
extracted text are *dropped*, and lines that run several expected paragraphs
together are *merged* (the paragraph breaks were lost, not the text).

A set is a folder of pages, each ``NAME.html`` (the bytes as served), its
expected text ``NAME.txt`` (one paragraph a line) and optional expected
metadata ``NAME.json`` (``title``, ``published`` as ISO 8601, ``language``,
and ``url``, the address the page was served at)."""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ingest.dates import parse_iso_datetime

# The extractor under test: (html bytes as served, page URL) -> the article
# record (``text``, ``title``, ``published_at``, ``language``, ...). It may
# raise; the page is then scored as if nothing had been extracted.


@dataclass(frozen=True)
class PageContext:
    """What the crawler would know about a page besides its bytes (never
    the expected answers): where it was served, its source, when it was fetched."""

    url: str
    source: str | None = None
    fetched_at: datetime | None = None


Extractor = Callable[[bytes, PageContext], Mapping[str, Any]]
# The set's sites in the sources-file format (time zone, extraction rules)
SOURCES_FILE = "sources.yaml"

METADATA_FIELDS = ("title", "published", "language")
# Where each expected field is found in the article record.
_RECORD_KEYS = {"title": "title", "published": "published_at", "language": "language"}
_SPACE = re.compile(r"\s+")


class EvalSetError(ValueError):
    """The folder is not an evaluation set (no pages, a page without its expected text)."""


def normalize(text: str) -> str:
    """NFC with every run of whitespace made one space: the same words in a
    different encoding form or wrapped differently are the same text."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def tokens(text: str) -> list[str]:
    return unicodedata.normalize("NFC", text).split()


class PageScore(BaseModel):
    precision: float
    recall: float
    f1: float
    expected_tokens: int
    extracted_tokens: int
    matched_tokens: int
    leaked_lines: list[str] = Field(description="extracted lines found in no expected paragraph")
    merged_lines: list[str] = Field(
        default_factory=list,
        description="extracted lines that run consecutive expected paragraphs together: structure lost, nothing leaked",
    )
    dropped_paragraphs: list[str] = Field(description="expected paragraphs not wholly in the extracted text")


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score_page(extracted_text: str, expected_lines: list[str]) -> PageScore:
    """Token precision/recall/F1 (multisets of whitespace tokens after NFC),
    leaked lines and dropped paragraphs of one page."""
    expected = [p for p in (normalize(line) for line in expected_lines) if p]
    got = tokens(extracted_text)
    want = [t for p in expected for t in p.split(" ")]
    matched = sum((Counter(got) & Counter(want)).values())
    precision, recall = _ratio(matched, len(got)), _ratio(matched, len(want))
    # A paragraph split over two extracted lines (a <br> inside it) is still
    # whole, hence the comparison on the whitespace-normalized text.
    flat = normalize(extracted_text)
    lines = [line for line in (normalize(raw) for raw in extracted_text.splitlines()) if line]
    outside = [line for line in lines if not any(line in p for p in expected)]
    # A body given as one block (JSON-LD articleBody, a <br>-less div) loses its
    # paragraph breaks but no furniture comes with it: counted apart from leaks.
    joined = " ".join(expected)
    return PageScore(
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        expected_tokens=len(want),
        extracted_tokens=len(got),
        matched_tokens=matched,
        leaked_lines=[line for line in outside if line not in joined],
        merged_lines=[line for line in outside if line in joined],
        dropped_paragraphs=[p for p in expected if p not in flat],
    )


class FieldCheck(BaseModel):
    expected: str
    got: str | None
    ok: bool


def _as_utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or timezone.utc).astimezone(timezone.utc)
    return parse_iso_datetime(value if isinstance(value, str) else None)


def _same_minute(expected: str, got: Any) -> bool:
    want, have = _as_utc(expected), _as_utc(got)
    if want is None or have is None:
        return False
    return want.replace(second=0, microsecond=0) == have.replace(second=0, microsecond=0)


def check_metadata(expected: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, FieldCheck]:
    """One check per expected field: title equal after whitespace
    normalization, published equal to the minute in UTC, language equal."""
    checks: dict[str, FieldCheck] = {}
    for name in METADATA_FIELDS:
        want = expected.get(name)
        if want is None:
            continue
        got = record.get(_RECORD_KEYS[name])
        shown = None if got is None else (got.isoformat() if isinstance(got, datetime) else str(got))
        if name == "published":
            ok = _same_minute(str(want), got)
        elif name == "title":
            ok = got is not None and normalize(str(got)) == normalize(str(want))
        else:
            ok = got is not None and str(got) == str(want)
        checks[name] = FieldCheck(expected=str(want), got=shown, ok=ok)
    return checks


class ExpectedPage(BaseModel):
    """``NAME.json``; keys beyond these (layout, encoding, notes) are kept for readers."""

    model_config = ConfigDict(extra="allow")

    title: str | None = None
    published: str | None = None
    language: str | None = None
    url: str | None = None
    source: str | None = None
    fetched: str | None = None
    layout: str | None = None


class PageResult(BaseModel):
    name: str
    url: str
    layout: str | None = None
    error: str | None = Field(default=None, description="why the extractor gave nothing, if it raised")
    score: PageScore
    metadata: dict[str, FieldCheck]


class FieldAccuracy(BaseModel):
    checked: int
    correct: int
    accuracy: float


class Totals(BaseModel):
    pages: int
    errors: int
    precision: float = Field(description="over all tokens of all pages")
    recall: float
    f1: float
    mean_f1: float = Field(description="mean of the pages' F1")
    leaked_lines: int
    merged_lines: int
    dropped_paragraphs: int
    pages_with_leaks: int
    pages_with_drops: int
    metadata: dict[str, FieldAccuracy]


class EvalReport(BaseModel):
    directory: str
    totals: Totals
    pages: list[PageResult]


def default_url(name: str) -> str:
    return f"https://eval.local/{name}"


def pages_dir(path: Path) -> Path:
    """The folder holding the pages: ``path`` itself, or its ``pages/``
    subfolder (the shipped set's package layout)."""
    inner = path / "pages"
    if not any(path.glob("*.html")) and inner.is_dir():
        return inner
    return path


def load_expected(html_path: Path) -> tuple[list[str], ExpectedPage]:
    txt = html_path.with_suffix(".txt")
    if not txt.is_file():
        raise EvalSetError(f"{html_path.name}: no expected text {txt.name}")
    meta_path = html_path.with_suffix(".json")
    meta = ExpectedPage.model_validate(json.loads(meta_path.read_text("utf-8"))) if meta_path.is_file() else ExpectedPage()
    return txt.read_text("utf-8").splitlines(), meta


def evaluate_page(html_path: Path, extract: Extractor) -> PageResult:
    lines, meta = load_expected(html_path)
    name = html_path.stem
    url = meta.url or default_url(name)
    error = None
    try:
        context = PageContext(url=url, source=meta.source, fetched_at=parse_iso_datetime(meta.fetched))
        record: Mapping[str, Any] = extract(html_path.read_bytes(), context)
    except Exception as exc:  # the report must cover every page, failures included
        error, record = f"{type(exc).__name__}: {exc}", {}
    expected = {k: getattr(meta, k) for k in METADATA_FIELDS}
    return PageResult(
        name=name,
        url=url,
        layout=meta.layout,
        error=error,
        score=score_page(str(record.get("text") or ""), lines),
        metadata=check_metadata(expected, record),
    )


def _totals(pages: list[PageResult]) -> Totals:
    matched = sum(p.score.matched_tokens for p in pages)
    precision = _ratio(matched, sum(p.score.extracted_tokens for p in pages))
    recall = _ratio(matched, sum(p.score.expected_tokens for p in pages))
    metadata = {}
    for name in METADATA_FIELDS:
        checks = [p.metadata[name] for p in pages if name in p.metadata]
        correct = sum(c.ok for c in checks)
        metadata[name] = FieldAccuracy(checked=len(checks), correct=correct, accuracy=_ratio(correct, len(checks)))
    return Totals(
        pages=len(pages),
        errors=sum(p.error is not None for p in pages),
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        mean_f1=sum(p.score.f1 for p in pages) / len(pages) if pages else 0.0,
        leaked_lines=sum(len(p.score.leaked_lines) for p in pages),
        merged_lines=sum(len(p.score.merged_lines) for p in pages),
        dropped_paragraphs=sum(len(p.score.dropped_paragraphs) for p in pages),
        pages_with_leaks=sum(bool(p.score.leaked_lines) for p in pages),
        pages_with_drops=sum(bool(p.score.dropped_paragraphs) for p in pages),
        metadata=metadata,
    )


def sources_file(path: Path) -> Path | None:
    """The set's ``sources.yaml`` (in the folder or beside its ``pages/``)."""
    for folder in (Path(path), pages_dir(Path(path)).parent):
        if (folder / SOURCES_FILE).is_file():
            return folder / SOURCES_FILE
    return None


def evaluate_dir(path: Path, extract: Extractor) -> EvalReport:
    """Run every ``NAME.html`` of the set through ``extract`` and score it."""
    folder = pages_dir(Path(path))
    html_files = sorted(folder.glob("*.html"))
    if not html_files:
        raise EvalSetError(f"{folder}: no NAME.html pages")
    results = [evaluate_page(html, extract) for html in html_files]
    return EvalReport(directory=str(folder), totals=_totals(results), pages=results)
