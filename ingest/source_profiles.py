"""What the ingest stage reads from the sources file: each source's time zone
and its extraction rules.

The crawler validates the whole file (crawlers.sources) and embeds the models
below in its own; the ingest stage must not import the crawler, so it reads
only these keys of each entry here, and ignores the rest. Both read the same
file (``RASD_SOURCES_FILE``): one place to say how a site is fetched and how
its pages are read.

```yaml
sources:
  - name: alofoq
    homepage: https://alofoq.example/
    timezone: Asia/Riyadh        # naive page times are read in it, stored as UTC
    extraction:
      remove: [".newsletter-box", "//div[@data-widget='most-read']"]
      body: "div.story-text"     # optional: read only this part of the page
```
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import tzinfo
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
import yaml
from cssselect import GenericTranslator, SelectorError
from lxml import etree
from lxml.html import HtmlElement
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

log = structlog.get_logger(__name__)

_XPATH_START = ("/", "./", "(")


def selector_xpath(selector: str) -> str:
    """The XPath of a CSS selector or an XPath expression (one starting with
    ``/``, ``./`` or ``(``); raises ValueError on either kind of syntax error."""
    selector = selector.strip()
    if not selector:
        raise ValueError("empty selector")
    if selector.startswith(_XPATH_START):
        try:
            etree.XPath(selector)
        except etree.XPathSyntaxError as exc:
            raise ValueError(f"not a valid XPath: {selector!r} ({exc})") from exc
        return selector
    try:
        return GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        raise ValueError(f"not a valid CSS selector: {selector!r} ({exc})") from exc


def check_timezone(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Asia/Riyadh)") from exc
    return name


class ExtractionRules(BaseModel):
    """Per-source fixes for a site the general extraction gets wrong."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    remove: list[str] = Field(
        default_factory=list, description="CSS selectors or XPath expressions of elements deleted before extraction"
    )
    body: str | None = Field(
        default=None, description="CSS selector or XPath of the article body: only what it selects is read"
    )

    @field_validator("remove")
    @classmethod
    def _selectors(cls, selectors: list[str]) -> list[str]:
        for s in selectors:
            selector_xpath(s)
        return selectors

    @field_validator("body")
    @classmethod
    def _body(cls, selector: str | None) -> str | None:
        if selector is not None:
            selector_xpath(selector)
        return selector

    @property
    def empty(self) -> bool:
        return not self.remove and self.body is None

    def apply(self, tree: HtmlElement) -> dict[str, int]:
        """Applies the rules to ``tree`` in place; returns how many elements
        each rule touched (a rule that matches nothing after a redesign shows
        up as 0 in `rasd extract`)."""
        counts: dict[str, int] = {}
        for selector in self.remove:
            found = [e for e in tree.xpath(selector_xpath(selector)) if isinstance(e, etree._Element)]
            for element in found:
                _drop(element)
            counts[f"remove {selector}"] = len(found)
        if self.body is not None:
            chosen = [e for e in tree.xpath(selector_xpath(self.body)) if isinstance(e, etree._Element)]
            counts[f"body {self.body}"] = len(chosen)
            body = tree.find(".//body")
            # A selector that matches nothing (the site changed) leaves the page
            # whole: the general extraction is better than an empty article.
            if chosen and body is not None:
                keep = [_detached_copy(e) for e in chosen]
                for child in list(body):
                    body.remove(child)
                body.text = None
                for element in keep:
                    body.append(element)
        return counts


def _drop(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    # keep the text that follows the element inside its parent
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _detached_copy(element: etree._Element) -> etree._Element:
    from copy import deepcopy

    copy = deepcopy(element)
    copy.tail = None
    return copy


class SourceProfile(BaseModel):
    """The ingest stage's view of one entry of the sources file."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    timezone: str | None = None
    extraction: ExtractionRules = Field(default_factory=ExtractionRules)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, name: str | None) -> str | None:
        return check_timezone(name)

    @cached_property
    def zone(self) -> tzinfo | None:
        return ZoneInfo(self.timezone) if self.timezone else None


class SourceProfileError(ValueError):
    """The sources file cannot be read for extraction (path, YAML or entry)."""


def parse_profiles(data: Any, origin: str = "<data>") -> dict[str, SourceProfile]:
    entries = data.get("sources") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise SourceProfileError(f"{origin}: expected a mapping with a 'sources' list")
    profiles: dict[str, SourceProfile] = {}
    for i, entry in enumerate(entries):
        try:
            profile = SourceProfile.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            name = entry.get("name") if isinstance(entry, Mapping) else None
            raise SourceProfileError(f"{origin}: source {name or f'#{i + 1}'}: {problems}") from exc
        profiles[profile.name] = profile
    return profiles


def load_profiles(path: str | Path) -> dict[str, SourceProfile]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceProfileError(f"{path}: cannot read the sources file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise SourceProfileError(f"{path}: not valid YAML ({exc})") from exc
    return parse_profiles(data, str(path))


class SourceProfiles:
    """The profiles of the sources file, re-read when the file changes (the
    crawler picks up an edited file without a restart; so does ingest). A
    file that became invalid keeps the last good profiles and says why."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._profiles: dict[str, SourceProfile] = {}
        self.last_error: str | None = None
        self.refresh()

    def _current_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def refresh(self) -> None:
        stamp = self._current_stamp()
        if stamp is None or stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._profiles = load_profiles(self.path)  # type: ignore[arg-type]
            self.last_error = None
        except SourceProfileError as exc:
            self.last_error = str(exc)
            log.error("source_profiles_unreadable", error=str(exc), kept=len(self._profiles))

    def get(self, name: str) -> SourceProfile | None:
        return self._profiles.get(name)
