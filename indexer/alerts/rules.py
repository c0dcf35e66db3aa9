"""The rules of the rules file as pydantic models: what a rule may say and
how each field is checked. Reading and editing the file is
``indexer.alerts.rules_file``."""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
NAME_HINT = "use 1-64 of a-z 0-9 _ -, starting with a letter or digit"
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
UNITS_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
PREFIX_MIN_CHARS = 2

Severity = Literal["low", "medium", "high", "critical"]


class RulesError(ValueError):
    """The rules file cannot be read or is invalid. ``problems`` holds one
    self-contained line per problem (file, rule, field, what is wrong)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_duration(value: Any) -> float:
    """``45s``, ``10m``, ``2h``, ``1d`` or a number of seconds -> seconds."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        raise ValueError(f"bad duration {value!r}: use 45s, 10m, 2h or 1d")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = DURATION_RE.match(str(value))
        if not match:
            raise ValueError(f"bad duration {str(value)!r}: use a number with s, m, h or d (45s, 10m, 2h, 1d)")
        seconds = float(match.group(1)) * UNITS_S[match.group(2)]
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"bad duration {value!r}: must be 0 or more")
    return seconds


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _letters(word: str) -> str:
    # Diacritics (Arabic harakat, combining accents) are not word characters
    # for str.isalnum but the analyzer drops or folds them.
    return "".join(ch for ch in word if not unicodedata.category(ch).startswith("M"))


def check_alias(alias: str) -> str:
    """An alias: words (a phrase when several), optionally ending in ``*``
    (prefix of the last word)."""
    text = alias.strip() if isinstance(alias, str) else alias
    if not isinstance(text, str) or not text:
        raise ValueError("empty alias")
    if not any(ch.isalnum() for ch in text):
        raise ValueError(f"alias {alias!r} has no letters or digits")
    if "*" in text[:-1]:
        raise ValueError(f"alias {alias!r}: '*' is only allowed at the very end (prefix of the last word)")
    if text.endswith("*"):
        last = text[:-1].replace("\u200c", " ").split()[-1:] or [""]
        stem = _letters(last[0])
        if not stem.isalnum() or len(stem) < PREFIX_MIN_CHARS:
            raise ValueError(
                f"alias {alias!r}: a prefix needs at least {PREFIX_MIN_CHARS} letters or digits before '*' "
                "and no punctuation in its last word"
            )
    return text


def _aliases(values: list[str]) -> list[str]:
    return [check_alias(v) for v in values]


def _alias_groups(groups: list[list[str]]) -> list[list[str]]:
    if any(not g for g in groups):
        raise ValueError("empty alias group")
    return [_aliases(g) for g in groups]


class ChannelSpec(BaseModel):
    """A delivery channel as written under ``channels:`` (its name is the key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["webhook"] = "webhook"
    url: str

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an absolute http(s) URL: {url!r}")
        return url.strip()


class NearClause(BaseModel):
    """Every group must match, with at most ``within`` other words between
    the matches of consecutive groups."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: list[list[str]] = Field(min_length=2)
    within: int = Field(ge=0)
    ordered: bool = False

    @field_validator("groups")
    @classmethod
    def _groups(cls, groups: list[list[str]]) -> list[list[str]]:
        return _alias_groups(groups)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    description: str | None = None
    any_of: list[str] = Field(default_factory=list, validation_alias=AliasChoices("any_of", "terms"))
    all_of: list[list[str]] = Field(default_factory=list)
    none_of: list[str] = Field(default_factory=list)
    near: list[NearClause] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    severity: Severity = "medium"
    channels: list[str] = Field(default_factory=list)
    cooldown: float = 0.0  # seconds; written as 45s / 10m / 2h / 1d
    digest: bool = False
    enabled: bool = True

    @model_validator(mode="wrap")
    @classmethod
    def _has_matching_clause(cls, data: Any, handler: ModelWrapValidatorHandler[Rule]) -> Rule:
        # Checked on the raw input and reported together with the field
        # errors, so that a file's every problem shows at once.
        problem = None
        if isinstance(data, dict):
            if "any_of" in data and "terms" in data:
                problem = "give any_of or its synonym terms, not both"
            elif not any(data.get(key) for key in ("any_of", "terms", "all_of", "near")):
                problem = "no matching clause: give at least one of any_of (terms), all_of, near"
        errors: list[Any] = []
        try:
            rule = handler(data)
        except ValidationError as exc:
            errors = list(exc.errors())
        if problem:
            errors.append({"type": PydanticCustomError("rule_clause", problem), "loc": (), "input": data})
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return rule

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not NAME_RE.match(name):
            raise ValueError(f"bad name {name!r}: {NAME_HINT}")
        return name

    @field_validator("any_of", "none_of")
    @classmethod
    def _alias_list(cls, values: list[str]) -> list[str]:
        return _aliases(values)

    @field_validator("all_of", mode="before")
    @classmethod
    def _groups_as_lists(cls, groups: Any) -> Any:
        # A one-alias group may be written as a plain string.
        if isinstance(groups, list):
            return [[g] if isinstance(g, str) else g for g in groups]
        return groups

    @field_validator("all_of")
    @classmethod
    def _all_of(cls, groups: list[list[str]]) -> list[list[str]]:
        return _alias_groups(groups)

    @field_validator("cooldown", mode="before")
    @classmethod
    def _cooldown(cls, value: Any) -> float:
        return parse_duration(value)

    def to_yaml(self) -> dict[str, Any]:
        """The rule as written in the rules file (defaults left out)."""
        data = self.model_dump(exclude_defaults=True)
        data = {"name": self.name, **data}
        if self.cooldown:
            data["cooldown"] = format_duration(self.cooldown)
        return data


def reference_problems(rules: list[Any], channel_names: set[str]) -> list[tuple[int, str, str]]:
    """Problems between rules: duplicate names and unknown channels, as
    (entry index, field, message)."""
    named = [(i, r.get("name")) if isinstance(r, dict) else (i, None) for i, r in enumerate(rules)]
    counts = Counter(name for _, name in named if isinstance(name, str))
    problems: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for i, name in named:
        if isinstance(name, str) and counts[name] > 1:
            if name in seen:
                problems.append((i, "name", f"duplicate name {name!r} (rule names must be unique)"))
            seen.add(name)
    for i, rule in enumerate(rules):
        used = rule.get("channels") if isinstance(rule, dict) else None
        for channel in used if isinstance(used, list) else []:
            if isinstance(channel, str) and channel not in channel_names:
                known = ", ".join(sorted(channel_names)) or "none defined"
                problems.append((i, "channels", f"unknown channel {channel!r} (channels: {known})"))
    return problems


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: dict[str, ChannelSpec] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> RulesFile:
        raw = [{"name": r.name, "channels": r.channels} for r in self.rules]
        problems = reference_problems(raw, set(self.channels))
        if problems:
            raise ValueError("; ".join(f"rule {raw[i]['name']!r}, field {field}: {msg}" for i, field, msg in problems))
        return self

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)
