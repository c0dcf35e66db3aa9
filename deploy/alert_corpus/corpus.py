"""The labelled alert corpus: original short news articles in five languages,
each labelled with the alert rules it must (and, by omission, must not) fire.

The articles live in one YAML file per language next to this module, the
rules they are labelled for in ``rules.yaml``; both are plain data so the
acceptance test, the benchmark and a human reviewer read the same thing.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

HERE = Path(__file__).resolve().parent
RULES_FILE = HERE / "rules.yaml"
LANGUAGES: tuple[str, ...] = ("ar", "en", "ru", "az", "fa")
# The placeholder in rules.yaml that rules_yaml() swaps for a live webhook.
PLACEHOLDER_WEBHOOK = "http://127.0.0.1:9/alert-corpus-hook"

Language = Literal["ar", "en", "ru", "az", "fa"]


class CorpusArticle(BaseModel):
    """One labelled article. The furniture lists (``sidebar`` ...) are texts
    the article's PAGE carries outside the article body: a correct pipeline
    never matches on them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z]{2}-\d{2}$", description="stable id, also the article's number on its site")
    lang: Language
    title: str = Field(min_length=5)
    paragraphs: list[str] = Field(min_length=3, max_length=6)
    published: AwareDatetime
    expected_rules: list[str] = Field(default_factory=list, description="rule names this article must fire, no others")
    note: str = Field(min_length=3, description="why the article is labelled so: what it exercises")
    sidebar: list[str] = Field(default_factory=list, description='extra "most read" entries beside the article')
    related: list[str] = Field(default_factory=list, description='extra "related links" under the article')
    ticker: list[str] = Field(default_factory=list, description="extra breaking-news ticker items in the page header")
    menu: list[str] = Field(default_factory=list, description="extra entries of the page's trending-topics menu")
    comments: list[str] = Field(default_factory=list, description="reader comments under the article")

    @property
    def text(self) -> str:
        """What the pipeline should see: title and body, nothing else."""
        return "\n".join([self.title, *self.paragraphs])

    @property
    def furniture(self) -> list[str]:
        return [*self.sidebar, *self.related, *self.ticker, *self.menu, *self.comments]

    @property
    def summary(self) -> str:
        # The page's meta description (percolated as ``description``): the
        # lead sentence, so it never adds words the body does not have.
        lead = self.paragraphs[0]
        for stop in (". ", "。", "؟ ", "! "):
            if stop in lead:
                return lead.split(stop, 1)[0] + stop.strip()
        return lead

    def word_count(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


def _published_order(article: CorpusArticle) -> datetime:
    return article.published


@lru_cache(maxsize=1)
def load_corpus() -> tuple[CorpusArticle, ...]:
    """Every article of every language file, oldest first."""
    found: list[CorpusArticle] = []
    for code in LANGUAGES:
        raw = yaml.safe_load((HERE / f"{code}.yaml").read_text(encoding="utf-8"))
        for item in raw["articles"]:
            article = CorpusArticle.model_validate(item)
            if article.lang != code:
                raise ValueError(f"{code}.yaml: article {article.id} says lang {article.lang!r}")
            found.append(article)
    ids = [a.id for a in found]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate article ids in the alert corpus")
    return tuple(sorted(found, key=_published_order))


def by_id() -> dict[str, CorpusArticle]:
    return {a.id: a for a in load_corpus()}


def rules_yaml(webhook_url: str | None = None) -> str:
    """The rules file text, its webhook channel pointed at ``webhook_url``
    (the test's own server) when given."""
    text = RULES_FILE.read_text(encoding="utf-8")
    return text if webhook_url is None else text.replace(PLACEHOLDER_WEBHOOK, webhook_url)


def rule_names() -> list[str]:
    return [rule["name"] for rule in yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["rules"]]
