"""What to crawl: the sources file (YAML) and its validated model.

A source is one news site: feeds, sitemaps (or robots.txt files that name
them) and section pages whose article links are followed one level deep.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, field_validator, model_validator

from crawlers.discovery import is_robots_url
from ingest.source_profiles import ExtractionRules, check_timezone


class SourcesFileError(ValueError):
    """The sources file is missing, is not YAML, or does not match the schema."""


def _check_http_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    return url


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="stable id, stored on every page")
    homepage: str | None = Field(
        default=None,
        description="the site's front page: its article links are followed, the feeds it announces "
        "(<link rel=alternate>) and the sitemaps its robots.txt names are discovered",
    )
    feeds: list[str] = Field(default_factory=list, description="RSS/Atom feed URLs")
    sitemaps: list[str] = Field(
        default_factory=list, description="sitemap or sitemap-index URLs, or robots.txt URLs naming sitemaps"
    )
    sections: list[str] = Field(default_factory=list, description="listing pages whose article links are followed")
    article_pattern: str | None = Field(
        default=None, description="regex searched in absolute link URLs on section pages; None follows every same-site link"
    )
    download_delay_s: float | None = Field(default=None, ge=0, description="fixed delay for this site (no autothrottle)")
    concurrency: int | None = Field(default=None, ge=1, description="parallel requests to this site")
    poll_interval_s: float | None = Field(
        default=None, gt=0, description="how often its listings are polled (adapted within the configured bounds)"
    )
    # Read by the ingest stage too (ingest.source_profiles)
    timezone: str | None = Field(
        default=None, description="IANA time zone of the site: page times without an offset are read in it"
    )
    extraction: ExtractionRules = Field(
        default_factory=ExtractionRules, description="CSS/XPath rules for a site the general extraction gets wrong"
    )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, name: str | None) -> str | None:
        return check_timezone(name)

    @field_validator("homepage")
    @classmethod
    def _homepage(cls, url: str | None) -> str | None:
        return None if url is None else _check_http_url(url)

    @field_validator("feeds", "sitemaps", "sections")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return [_check_http_url(u) for u in urls]

    @field_validator("article_pattern")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"article_pattern is not a valid regex: {exc}") from exc
        return pattern

    @model_validator(mode="after")
    def _has_entry_point(self) -> Source:
        if not (self.homepage or self.feeds or self.sitemaps or self.sections):
            raise ValueError(f"source {self.name!r} has no homepage, feeds, sitemaps or sections")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def allowed_domains(self) -> list[str]:
        """Host names of every configured URL, in first-seen order: section
        links are only followed within these (and their subdomains)."""
        hosts: dict[str, None] = {}
        for url in (*([self.homepage] if self.homepage else []), *self.feeds, *self.sitemaps, *self.sections):
            hosts[(urlsplit(url).hostname or "").lower()] = None
        return list(hosts)

    def robots_urls(self) -> list[str]:
        """robots.txt of the homepage's host, where its sitemaps are named."""
        if not self.homepage:
            return []
        parts = urlsplit(self.homepage)
        robots = f"{parts.scheme}://{parts.netloc}/robots.txt"
        return [] if robots in self.sitemaps else [robots]

    def article_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.article_pattern) if self.article_pattern else None

    def owns_host(self, host: str | None) -> bool:
        host = (host or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesFile:
        counts = Counter(s.name for s in self.sources)
        dupes = sorted(name for name, n in counts.items() if n > 1)
        if dupes:
            raise ValueError(f"duplicate source names: {dupes}")
        return self


def _describe(exc: ValidationError, data: Any) -> str:
    """One line per problem, naming the source (by its name when it has
    one), the field and what is wrong."""
    entries = data.get("sources") if isinstance(data, dict) else None
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc) or "<top level>"
        if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
            entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            who = f"source {name!r} (entry {loc[1] + 1})" if name else f"source entry {loc[1] + 1}"
            field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[2:]).lstrip(".")
            where = f"{who}, field {field}" if field else who
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def parse_sources(data: Any, origin: str = "<data>") -> list[Source]:
    """Validate already-loaded YAML/JSON data (``{"sources": [...]}``)."""
    if data is None:
        raise SourcesFileError(f"{origin}: the file is empty")
    if not isinstance(data, dict):
        raise SourcesFileError(f"{origin}: expected a mapping with a 'sources' list, got {type(data).__name__}")
    try:
        return SourcesFile.model_validate(data).sources
    except ValidationError as exc:
        raise SourcesFileError(f"{origin}: invalid sources file:\n{_describe(exc, data)}") from exc


def load_sources(path: str | Path) -> list[Source]:
    """Read and validate a sources YAML file; raises SourcesFileError with
    the file name and every problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesFileError(f"{path}: cannot read sources file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SourcesFileError(f"{path}: sources file is not UTF-8: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourcesFileError(f"{path}: not valid YAML: {exc}") from exc
    return parse_sources(data, origin=str(path))


def listing_urls(source: Source) -> list[tuple[str, str]]:
    """(kind, URL) of every listing configured for ``source``: the homepage
    and the robots.txt of its host (discovery), feeds, sitemaps (a robots.txt
    given as a sitemap is read for its Sitemap lines) and sections."""
    out: list[tuple[str, str]] = []
    if source.homepage:
        out.append(("homepage", source.homepage))
    out.extend(("robots", url) for url in source.robots_urls())
    out.extend(("feed", url) for url in source.feeds)
    out.extend(("robots" if is_robots_url(url) else "sitemap", url) for url in source.sitemaps)
    out.extend(("section", url) for url in source.sections)
    return out


class SourcesWatcher:
    """The sources file, re-read when it changes (edits take effect without
    a restart). A broken edit is reported and the last good sources stay in
    force, so a typo never stops a running crawl."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self.sources: list[Source] = load_sources(self.path)
        self._stamp = self._current_stamp()
        self.last_error: str | None = None

    def _current_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def poll(self) -> bool:
        """Reload if the file changed; True when the sources changed."""
        stamp = self._current_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            sources = load_sources(self.path)
        except SourcesFileError as exc:
            self.last_error = str(exc)
            return False
        self.last_error = None
        if sources == self.sources:
            return False
        self.sources = sources
        return True
