"""Content model of the demo news site: articles and page furniture, loaded
from the YAML/text files bundled in ``deploy/demo_site/content/``."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

# Data directory next to this module (not a package: it would shadow this
# module's name).
_PACKAGE = "deploy.demo_site"
_CONTENT_DIR = "content"

# A word that is printed in the "most read" sidebar of every page and in no
# article body: if an extractor's output contains it, sidebar furniture leaked.
SIDEBAR_ONLY_WORD = "الفلامنغو"

# Body file of the seed article (an interview, one paragraph per line) that
# the acceptance test compares extraction results against.
SEED_BODY_FILE = "seed-article-ar.txt"
SEED_SLUG = "iran-ambassador-azerbaijan-karabakh-reconstruction"


@dataclass(frozen=True)
class DemoArticle:
    slug: str
    section: str
    title: str
    paragraphs: list[str]
    published_at: datetime
    author: str
    encoding: str = "utf-8"
    # URL path on the site; derived from the date and slug when left empty.
    path: str = ""
    summary: str = ""
    tags: tuple[str, ...] = ()
    image_caption: str = ""
    modified_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None:
            raise ValueError(f"article {self.slug!r}: published_at must be timezone-aware")
        if not self.paragraphs:
            raise ValueError(f"article {self.slug!r} has no paragraphs")
        if not self.path:
            object.__setattr__(self, "path", article_path(self.published_at, self.slug))
        if self.modified_at is None:
            object.__setattr__(self, "modified_at", self.published_at)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class SiteFurniture:
    """Everything on a page that is not the article: names, menus, boxes."""

    raw: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def sections(self) -> dict[str, str]:
        return dict(self.raw["sections"])

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]


def article_path(published_at: datetime, slug: str) -> str:
    return f"/news/{published_at:%Y}/{published_at:%m}/{slug}.html"


def _content_file(name: str) -> str:
    return (resources.files(_PACKAGE) / _CONTENT_DIR / name).read_text(encoding="utf-8")


def read_seed_text() -> str:
    """The seed article body exactly as bundled (one paragraph per line)."""
    return _content_file(SEED_BODY_FILE)


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _article_from_entry(entry: dict[str, Any], sections: dict[str, str]) -> DemoArticle:
    if entry["section"] not in sections:
        raise ValueError(f"article {entry['slug']!r}: unknown section {entry['section']!r}")
    modified = entry.get("modified_at")
    return DemoArticle(
        slug=entry["slug"],
        section=entry["section"],
        title=entry["title"],
        paragraphs=_paragraphs(_content_file(entry["body"])),
        published_at=datetime.fromisoformat(entry["published_at"]),
        author=entry["author"],
        encoding=entry.get("encoding", "utf-8"),
        summary=entry.get("summary", ""),
        tags=tuple(entry.get("tags", ())),
        image_caption=entry.get("image_caption", ""),
        modified_at=datetime.fromisoformat(modified) if modified else None,
    )


@lru_cache(maxsize=1)
def _manifest() -> dict[str, Any]:
    return yaml.safe_load(_content_file("articles.yaml"))


@lru_cache(maxsize=1)
def load_furniture() -> SiteFurniture:
    furniture = SiteFurniture(yaml.safe_load(_content_file("site.yaml")))
    # The constant and the YAML must agree, or the leak check checks nothing.
    if not any(SIDEBAR_ONLY_WORD in item for item in furniture["most_read"]["items"]):
        raise ValueError(f"no 'most read' headline contains SIDEBAR_ONLY_WORD {SIDEBAR_ONLY_WORD!r}")
    return furniture


def load_articles() -> list[DemoArticle]:
    """The bundled public articles, seed interview first."""
    sections = load_furniture().sections
    return [_article_from_entry(entry, sections) for entry in _manifest()["articles"]]


def load_private_article() -> DemoArticle:
    """The embargoed draft served under /private/ (robots.txt disallows it)."""
    article = _article_from_entry(_manifest()["private"], load_furniture().sections)
    return replace(article, path=f"/private/drafts/{article.slug}.html")
