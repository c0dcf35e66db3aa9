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
        if not (self.feeds or self.sitemaps or self.sections):
            raise ValueError(f"source {self.name!r} has no feeds, sitemaps or sections")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def allowed_domains(self) -> list[str]:
        """Host names of every configured URL, in first-seen order: section
        links are only followed within these (and their subdomains)."""
        hosts: dict[str, None] = {}
        for url in (*self.feeds, *self.sitemaps, *self.sections):
            hosts[(urlsplit(url).hostname or "").lower()] = None
        return list(hosts)

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


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "<top level>"
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
        raise SourcesFileError(f"{origin}: invalid sources file:\n{_describe(exc)}") from exc


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
