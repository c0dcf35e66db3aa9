"""A rule -> its percolator query and rule document.

The engine's ``rasd_ar_norm`` analyzer (the ``.norm`` subfields) already
folds hamza, alef, ta marbuta, ya, tatweel, diacritics, digits, Latin
accents and case, on the rule's words and the article's alike. What it
cannot do is generated here: the clitic-prefixed forms of Arabic words
(و ف ب ل ك ال ...) and the case/number forms of Russian words (pymorphy3).
Pure apart from pymorphy3's dictionaries.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from indexer.alerts.records import Channel
from indexer.alerts.rules import ChannelSpec, NearClause, Rule, RulesError

MATCH_FIELDS: tuple[str, ...] = ("title.norm", "description.norm", "body.norm")
# Lucene counts every leaf query (and every term of an intervals source)
# of the whole query tree against indices.query.bool.max_clause_count;
# a stored query over it fails at percolation, for every article.
MAX_CLAUSES = 1024

ZWNJ = "\u200c"
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
CYRILLIC_WORD = re.compile(r"^[\u0400-\u04FF-]+$")

# Conjunctions, then prepositions, then the article: و/ف + ب/ل/ك + ال.
CONJUNCTIONS = ("", "و", "ف")
PREPOSITIONS = ("", "ب", "ل", "ك")
ARTICLE = "ال"

RU_CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct", "gen2", "loc2")
RU_NUMBERS = ("sing", "plur")


# -- Arabic ---------------------------------------------------------------


def _with_clitics(word: str) -> list[str]:
    """Every clitic-prefixed form of one Arabic-script word."""
    bases = [word] if word.startswith(ARTICLE) else [word, ARTICLE + word]
    forms: list[str] = []
    for base in bases:
        for conj in CONJUNCTIONS:
            for prep in PREPOSITIONS:
                if prep == "ل" and base.startswith(ARTICLE):
                    # ل + ال is written لل (للخرطوم), never لال.
                    forms.append(conj + "لل" + base[len(ARTICLE):])
                else:
                    forms.append(conj + prep + base)
    return forms


# -- Russian --------------------------------------------------------------


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


# Paradigms borrowed for a noun the dictionary only knows as a form of
# another word (Арцах would be read as the plural of "арец"): the alias is
# taken as a nominative singular declined like these.
_EXEMPLARS: tuple[tuple[str, str], ...] = (("гкх", "флаг"), ("жшчщ", "нож"), ("а", "карта"), ("я", "неделя"))
_HARD_EXEMPLAR = "стол"
_VOWELS = "аеёиоуыэюяйь"

Inflect = Callable[[str, str], "str | None"]


def _exemplar_inflector(word: str) -> Inflect | None:
    last = word[-1]
    exemplar = next((ex for letters, ex in _EXEMPLARS if last in letters), None)
    if exemplar is None:
        if last in _VOWELS:
            return None
        exemplar = _HARD_EXEMPLAR
    parse = next(p for p in _morph().parse(exemplar) if "nomn" in p.tag and "sing" in p.tag)
    drop = 1 if exemplar[-1] in _VOWELS else 0
    stem, exemplar_stem = word[: len(word) - drop], exemplar[: len(exemplar) - drop]

    def inflect(case: str, number: str) -> str | None:
        form = parse.inflect({case, number})
        return stem + form.word[len(exemplar_stem):] if form else None

    return inflect


def _word_inflector(word: str, animacy: str | None) -> Inflect | None:
    """How to put one Cyrillic word into a case and number; None when the
    word does not inflect (kept as written)."""
    parses = _morph().parse(word)
    nominative = [p for p in parses if "nomn" in p.tag]
    # An alias is written in the nominative: prefer that reading, singular first.
    chosen = next((p for p in nominative if "sing" in p.tag), nominative[0] if nominative else None)
    if chosen is None:
        return _exemplar_inflector(word)
    if "Fixd" in chosen.tag or chosen.tag.POS not in ("NOUN", "ADJF", "PRTF", "NUMR"):
        return None
    is_adjective = chosen.tag.POS in ("ADJF", "PRTF")

    def inflect(case: str, number: str) -> str | None:
        grammemes = {case, number}
        # An adjective's accusative follows its noun's animacy (masculine, plural).
        if is_adjective and case == "accs" and animacy and (number == "plur" or "masc" in chosen.tag):
            grammemes.add(animacy)
        form = chosen.inflect(grammemes)
        return form.word if form else None

    return inflect


def _russian_forms(alias: str) -> list[str]:
    words = alias.lower().split()
    nouns = [p for w in words for p in _morph().parse(w)[:1] if p.tag.POS == "NOUN"]
    animacy = nouns[0].tag.animacy if nouns else None
    inflectors = [_word_inflector(w, animacy) for w in words]
    forms = [alias.lower()]
    for case in RU_CASES:
        for number in RU_NUMBERS:
            parts = []
            for word, inflect in zip(words, inflectors):
                part = word if inflect is None else inflect(case, number)
                if part is None:
                    break
                parts.append(part)
            else:
                forms.append(" ".join(parts))
    # Russian text often writes ё as е.
    forms += [f.replace("ё", "е") for f in forms if "ё" in f]
    return list(dict.fromkeys(forms))


# -- forms and their matching clauses ------------------------------------


def alias_forms(alias: str) -> list[str]:
    """The text forms an alias stands for. Arabic-script: clitic-prefixed
    forms of the first word; all-Cyrillic: every case/number form; anything
    else (Latin) as written. A trailing ``*`` (prefix) is kept on each form
    and switches off Russian inflection (the prefix covers the endings)."""
    text = alias.strip().replace(ZWNJ, " ")
    prefix = text.endswith("*")
    words = text.rstrip("*").split()
    if not words:
        return []
    star = "*" if prefix else ""
    if ARABIC_SCRIPT.search(words[0]):
        rest = " ".join(words[1:])
        return [" ".join(filter(None, (first, rest))) + star for first in _with_clitics(words[0])]
    if not prefix and all(CYRILLIC_WORD.match(w) for w in words):
        return _russian_forms(" ".join(words))
    return [" ".join(words) + star]


def _fold_key(form: str) -> str:
    """Forms the analyzer would make identical get the same key (a strict
    subset of its folding, so distinct forms are never merged)."""
    text = unicodedata.normalize("NFKD", form.lower().replace(ZWNJ, " "))
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("M") and ch != "\u0640")
    for src, dst in (("أإآ", "ا"), ("ة", "ه"), ("ى", "ي"), ("ی", "ي"), ("ک", "ك")):
        for ch in src:
            text = text.replace(ch, dst)
    return " ".join(text.split())


def _forms(aliases: Iterable[str]) -> list[str]:
    unique: dict[str, str] = {}
    for alias in aliases:
        for form in alias_forms(alias):
            unique.setdefault(_fold_key(form), form)
    return list(unique.values())


def _interval_source(form: str) -> dict[str, Any]:
    """An intervals source matching the form as a phrase (prefix on the
    last word when it ends in ``*``)."""
    if not form.endswith("*"):
        return {"match": {"query": form, "max_gaps": 0, "ordered": True}}
    words = form[:-1].split()
    prefix = {"prefix": {"prefix": words[-1]}}
    if len(words) == 1:
        return prefix
    head = {"match": {"query": " ".join(words[:-1]), "max_gaps": 0, "ordered": True}}
    return {"all_of": {"intervals": [head, prefix], "max_gaps": 0, "ordered": True}}


def _form_clauses(form: str) -> list[dict[str, Any]]:
    if form.endswith("*"):
        # match_phrase_prefix does not match inside percolation; intervals do.
        return [{"intervals": {field: _interval_source(form)}} for field in MATCH_FIELDS]
    return [{"multi_match": {"query": form, "type": "phrase", "fields": list(MATCH_FIELDS)}}]


def _any(aliases: Iterable[str]) -> dict[str, Any]:
    return {
        "bool": {
            "should": [clause for form in _forms(aliases) for clause in _form_clauses(form)],
            "minimum_should_match": 1,
        }
    }


def _near(clause: NearClause) -> dict[str, Any]:
    groups = [{"any_of": {"intervals": [_interval_source(f) for f in _forms(group)]}} for group in clause.groups]
    source = {"all_of": {"intervals": groups, "max_gaps": clause.within, "ordered": clause.ordered}}
    return {
        "bool": {"should": [{"intervals": {field: source}} for field in MATCH_FIELDS], "minimum_should_match": 1}
    }


def compile_query(rule: Rule) -> dict[str, Any]:
    """The rule's percolator query. Each clause is a ``must`` of the top
    bool (a conjunction of disjunctions), so the percolator's query
    analysis can index one clause's terms and skip rules an article cannot
    match; filters and vetoes never decide candidacy."""
    must: list[dict[str, Any]] = []
    if rule.any_of:
        must.append(_any(rule.any_of))
    must.extend(_any(group) for group in rule.all_of)
    must.extend(_near(clause) for clause in rule.near)
    query: dict[str, Any] = {"must": must}
    filters = [
        {"terms": {field: values}}
        for field, values in (("language", rule.languages), ("source", rule.sources), ("tags", rule.tags))
        if values
    ]
    if filters:
        query["filter"] = filters
    if rule.none_of:
        query["must_not"] = [_any(rule.none_of)]
    return {"bool": query}


def _words(text: str) -> int:
    return max(1, len([w for w in re.split(r"[^\w\u064B-\u065F\u0640]+", text) if w]))


def clause_count(query: Any) -> int:
    """Upper bound of what Lucene counts against max_clause_count: one per
    phrase per field, one per term of an intervals source."""
    if isinstance(query, list):
        return sum(clause_count(q) for q in query)
    if not isinstance(query, dict):
        return 0
    if "multi_match" in query:
        return len(query["multi_match"]["fields"])
    if "match" in query and isinstance(query["match"], dict) and "query" in query["match"]:
        return _words(query["match"]["query"])
    if "prefix" in query and isinstance(query["prefix"], dict) and "prefix" in query["prefix"]:
        return 1
    if "terms" in query:
        return 1
    return sum(clause_count(value) for value in query.values())


def resolve_channels(rule: Rule, channels: Mapping[str, ChannelSpec]) -> list[Channel]:
    return [Channel(name=name, type=channels[name].type, url=channels[name].url) for name in rule.channels]


def rule_hash(rule: Rule, channels: list[Channel], query: dict[str, Any]) -> str:
    """sha256 of the rule's definition, its channels and its compiled query
    (so a compiler or dictionary change also counts as a change)."""
    canonical = json.dumps(
        {
            "rule": rule.model_dump(mode="json"),
            "channels": [c.model_dump(mode="json") for c in channels],
            "query": query,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def compile_rule(rule: Rule, channels: Mapping[str, ChannelSpec]) -> dict[str, Any]:
    """The rule document for the rules index: ``{"query", "rule"}``.
    Raises RulesError when the query would exceed Lucene's clause limit or
    a channel is unknown."""
    missing = [name for name in rule.channels if name not in channels]
    if missing:
        raise RulesError([f"rule {rule.name!r}, field channels: unknown channel(s) {missing}"])
    query = compile_query(rule)
    count = clause_count(query)
    if count > MAX_CLAUSES:
        raise RulesError(
            [
                f"rule {rule.name!r}: compiles to {count} query clauses, over the engine's limit of {MAX_CLAUSES}; "
                "use fewer aliases or split the rule"
            ]
        )
    resolved = resolve_channels(rule, channels)
    return {
        "query": query,
        "rule": {
            "name": rule.name,
            "severity": rule.severity,
            "cooldown_s": rule.cooldown,
            "digest": rule.digest,
            "hash": rule_hash(rule, resolved, query),
            "updated_at": datetime.now(timezone.utc).isoformat(),
            "channels": [c.model_dump(mode="json") for c in resolved],
        },
    }
