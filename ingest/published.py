"""Published and modified dates of a page: every candidate with its origin, then one choice.

A wrong date puts a story on the wrong day of a dashboard, and the day alone
is not enough for monitoring, so the most precise *trustworthy* source wins:

- a candidate with a time of day beats a date-only one, as long as it falls
  on the day the more trusted date-only candidate states (a page that says
  "12 November" and a feed that says "12 November 14:35" agree: 14:35 it is);
- structured data (JSON-LD, meta tags, ``<time datetime>``) beats the date
  line visible in the page, which beats the feed, which beats htmldate;
- a date in the URL (``/2026/11/12/``) is used only when nothing else exists:
  it never erases a page's or the feed's time of day.

Values are aware UTC. Naive times are read in the site's time zone when the
caller knows it, else in the zone the page's own structured dates state, else
UTC. A date-only value is midnight UTC of the day the source states, so the
day a dashboard shows is the day the page shows.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, Literal

import htmldate
import jdatetime
import lxml.html
from hijridate import Hijri
from lxml import etree
from lxml.etree import ParserError

DateOrigin = Literal["jsonld", "meta", "time", "text", "feed", "htmldate", "url"]
DateKind = Literal["published", "modified"]
Precision = Literal["time", "day"]

_TRUST: dict[DateOrigin, int] = {"jsonld": 0, "meta": 0, "time": 0, "text": 1, "feed": 2, "htmldate": 3, "url": 4}
_STRUCTURED: frozenset[DateOrigin] = frozenset({"jsonld", "meta", "time"})
# Dates before the web's news sites existed are template placeholders (0000-00-00, the Unix epoch).
_MIN_YEAR, _MAX_YEAR = 1995, 2100
# A time of day on date D exists somewhere on Earth from D 00:00 UTC-14h to D 24:00 UTC+12h.
_DAY_SPREAD_BEFORE, _DAY_SPREAD_AFTER = timedelta(hours=14), timedelta(hours=36)
_FUTURE_TOLERANCE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DateCandidate:
    value: datetime
    origin: DateOrigin
    precision: Precision
    kind: DateKind = "published"


@dataclass(frozen=True, slots=True)
class PageDates:
    """Every candidate found on a page and the chosen published and modified dates."""

    candidates: tuple[DateCandidate, ...]
    published: DateCandidate | None
    modified: DateCandidate | None


# --- values -----------------------------------------------------------------

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_ISO_LIKE = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?|GMT|UTC)?)?",
    re.IGNORECASE,
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A value as the source wrote it: ``when`` is naive if the source gave no zone."""

    when: datetime
    precision: Precision


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text.upper() in ("Z", "GMT", "UTC"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _build(year: int, month: int, day: int, clock: tuple[int, int, int] | None, zone: tzinfo | None) -> ParsedDate | None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        if clock is None:
            return ParsedDate(datetime(year, month, day), "day")
        when = datetime(year, month, day, *clock, tzinfo=zone)
    except ValueError:
        return None
    # CMSs that only store a day print it as midnight: that is a day, not a time.
    return ParsedDate(when, "day" if clock == (0, 0, 0) else "time")


# A page states its date in its meta tags, its JSON-LD and its <time>
# alike: each value is read once (the result is immutable).
@lru_cache(maxsize=256)
def parse_date_value(raw: str | None) -> ParsedDate | None:
    """A machine-readable date (ISO 8601 and its common deviations, RFC 2822,
    Unix seconds) from structured data; anything else is garbage: None."""
    text = (raw or "").strip().translate(_DIGITS)
    if not text:
        return None
    if text.isdigit() and len(text) in (10, 13):  # Unix time, seconds or milliseconds
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        when = datetime.fromtimestamp(seconds, timezone.utc)
        return _build(when.year, when.month, when.day, (when.hour, when.minute, when.second), timezone.utc)
    match = _ISO_LIKE.match(text) or _COMPACT.match(text)
    if match is not None:
        groups = match.groups()
        year, month, day = (int(g) for g in groups[:3])
        if len(groups) == 3 or groups[3] is None:
            return _build(year, month, day, None, None)
        if _LETTER.search(text, match.end()):
            return None  # "2026-11-12 14:35 EST", "... بتوقيت مكة": words we cannot read may shift the time
        zone = _offset(groups[6])
        if groups[6] is not None and zone is None:
            return None
        clock = (int(groups[3]), int(groups[4]), int(groups[5] or 0))
        return _build(year, month, day, clock, zone)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return _build(when.year, when.month, when.day, (when.hour, when.minute, when.second), when.tzinfo)


def _to_utc(parsed: ParsedDate, zone: tzinfo) -> datetime:
    when = parsed.when
    if parsed.precision == "day":
        return datetime(when.year, when.month, when.day, tzinfo=timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.astimezone(timezone.utc)


# --- visible Arabic date lines ----------------------------------------------

_HARAKAT = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u0640]")  # diacritics and tatweel
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك"})


def _fold(text: str) -> str:
    """Spelling-insensitive copy for matching: alef forms, ى/ي, ة/ه, no diacritics, ASCII digits."""
    return _HARAKAT.sub("", text).translate(_FOLD).translate(_DIGITS).lower()


# Egyptian/Gulf names, the Levantine/Iraqi set, and the Maghreb spellings.
_GREGORIAN_MONTHS = {
    1: "يناير كانون الثاني جانفي",
    2: "فبراير شباط فيفري",
    3: "مارس آذار",
    4: "أبريل إبريل ابريل نيسان أفريل",
    5: "مايو أيار ماي",
    6: "يونيو يونيه حزيران جوان",
    7: "يوليو يوليه تموز جويلية يوليوز",
    8: "أغسطس اغسطس آب أوت غشت",
    9: "سبتمبر أيلول شتنبر",
    10: "أكتوبر اكتوبر تشرين الأول",
    11: "نوفمبر تشرين الثاني نونبر",
    12: "ديسمبر كانون الأول دجنبر",
}
# Pages in the other languages Rasd monitors (English, French, Russian genitive).
_LATIN_MONTHS = {
    1: "january jan janvier января",
    2: "february feb février fevrier февраля",
    3: "march mar mars марта",
    4: "april apr avril апреля",
    5: "may mai мая",
    6: "june jun juin июня",
    7: "july jul juillet июля",
    8: "august aug août aout августа",
    9: "september sep sept septembre сентября",
    10: "october oct octobre октября",
    11: "november nov novembre ноября",
    12: "december dec décembre decembre декабря",
}
_TWO_WORD = re.compile(r"^(كانون|تشرين) (الثاني|الأول)$")
_HIJRI_MONTHS = {
    1: ["محرم"],
    2: ["صفر"],
    3: ["ربيع الأول"],
    4: ["ربيع الآخر", "ربيع الثاني"],
    5: ["جمادى الأولى", "جمادى الأول"],
    6: ["جمادى الآخرة", "جمادى الثانية", "جمادى الآخر"],
    7: ["رجب"],
    8: ["شعبان"],
    9: ["رمضان"],
    10: ["شوال"],
    11: ["ذو القعدة", "ذي القعدة"],
    12: ["ذو الحجة", "ذي الحجة"],
}


# Solar Hijri (Jalali), the calendar of Iranian and Afghan news sites; read
# only with its day and a 13xx/14xx year, since دی, تیر and مهر are words too.
_JALALI_MONTHS = {
    1: "فروردین حمل", 2: "اردیبهشت ثور", 3: "خرداد جوزا", 4: "تیر سرطان", 5: "مرداد امرداد اسد", 6: "شهریور سنبله",
    7: "مهر میزان", 8: "آبان عقرب", 9: "آذر قوس", 10: "دی جدی", 11: "بهمن دلو", 12: "اسفند حوت",
}


def _gregorian_names() -> dict[str, int]:
    names: dict[str, int] = {}
    for month, spelled in _GREGORIAN_MONTHS.items():
        words = spelled.split()
        i = 0
        while i < len(words):
            pair = " ".join(words[i : i + 2])
            if _TWO_WORD.match(pair):
                names[_fold(pair)] = month
                i += 2
            else:
                names[_fold(words[i])] = month
                i += 1
    for month, spelled in _LATIN_MONTHS.items():
        names.update((word, month) for word in spelled.split())
    return names


_GREGORIAN = _gregorian_names()
_HIJRI = {_fold(name): month for month, spellings in _HIJRI_MONTHS.items() for name in spellings}
_JALALI = {_fold(name): month for month, spelled in _JALALI_MONTHS.items() for name in spelled.split()}


def _alternation(names: dict[str, int]) -> str:
    return "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in sorted(names, key=len, reverse=True))


_SEP = r"\s*[-/،,.]?\s*"
_GREGORIAN_DATE = re.compile(
    rf"(?<!\d)(\d{{1,2}}){_SEP}(?:من\s+)?({_alternation(_GREGORIAN)})(?!\w)"
    rf"(?:\s*[-/(]\s*(?:{_alternation(_GREGORIAN)})\s*\)?)?{_SEP}(?:عام\s+|سنه\s+)?(\d{{4}})(?!\d)"
    r"(?:\s*(?:م|ميلادي|ميلاديه)(?!\w))?"
)
# "November 18, 2026", "نوفمبر 18، 2026"
_MONTH_FIRST_DATE = re.compile(
    rf"(?<!\w)({_alternation(_GREGORIAN)})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?!\d)\s*[,،]?\s*(\d{{4}})(?!\d)"
)
_HIJRI_DATE = re.compile(
    rf"(?<!\d)(\d{{1,2}}){_SEP}({_alternation(_HIJRI)})(?!\w){_SEP}(\d{{4}})(?!\d)"
    r"(?:\s*(?:هـ|ه|هجري|هجريه|للهجره)(?!\w))?"
)
_JALALI_DATE = re.compile(
    rf"(?<!\d)(\d{{1,2}}){_SEP}({_alternation(_JALALI)})(?!\w){_SEP}(1[34]\d\d)(?!\d)"
    r"(?:\s*(?:ه\.?\s*ش|هجري\s+شمسي|شمسي)\.?)?"
)
_NUMERIC_DATE = re.compile(r"(?<![\d/.-])(?:(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})|(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}))(?![\d/.-])")
_CLOCK = re.compile(
    r"(?<![\d:])(\d{1,2})[:h](\d{2})(?::(\d{2}))?(?!\d)"
    r"(?:\s*(صباحا|مساء|ظهرا|عصرا|ليلا|ص|م|am|pm|a\.m\.|p\.m\.)(?!\w))?"
    r"(?:\s*(?:بتوقيت\s+)?(?:gmt|utc|غرينتش|جرينتش|غرينيتش)\s*([+-]\s*\d{1,2}(?::?\d{2})?)?)?",
    re.IGNORECASE,
)
_GMT_MARK = re.compile(r"gmt|utc|غرينتش|جرينتش|غرينيتش", re.IGNORECASE)
_MODIFIED_LABEL = re.compile(
    r"تحديث|محدث|تعديل|عدل|به\u200c?\s?روز\s?رساني|بروزرساني|ويرايش"
    r"|updated|modified|last update|mis à jour|mise à jour|обновлено",
    re.IGNORECASE,
)
_PUBLISHED_LABEL = re.compile(r"نشر|منشور|تاريخ|انتشار|منتشر|published|posted|publié|опубликовано", re.IGNORECASE)
_PM = {"م", "مساء", "عصرا", "ليلا", "pm", "p.m."}
_AM = {"ص", "صباحا", "am", "a.m."}
_LABEL_REACH = 40
_CLOCK_REACH = 40


def _clock_near(text: str, window_after: tuple[int, int], window_before: tuple[int, int]) -> tuple[tuple[int, int, int], timezone | None] | None:
    match = _CLOCK.search(text, *window_after)
    if match is None:  # "14:35 - 12 نوفمبر 2026"
        before = list(_CLOCK.finditer(text, *window_before))
        match = before[-1] if before else None
    if match is None:
        return None
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    marker = (match.group(4) or "").lower()
    if marker in _PM and hour < 12:
        hour += 12
    elif marker in _AM and hour == 12:
        hour = 0
    elif marker == "ظهرا" and hour < 6:  # "1 ظهرا" is 13:00, "12 ظهرا" noon
        hour += 12
    if hour > 23 or minute > 59 or second > 59:
        return None
    zone = None
    if _GMT_MARK.search(match.group(0)):
        zone = _offset(_signed(match.group(5))) if match.group(5) else timezone.utc
    return (hour, minute, second), zone


def _signed(offset: str) -> str:
    compact = offset.replace(" ", "")
    sign, digits = compact[0], compact[1:].replace(":", "")
    return sign + (digits.zfill(2) if len(digits) <= 2 else digits.zfill(4))


def _kind_at(text: str, start: int) -> DateKind:
    window = text[max(0, start - _LABEL_REACH) : start]
    modified = [m.end() for m in _MODIFIED_LABEL.finditer(window)]
    published = [m.end() for m in _PUBLISHED_LABEL.finditer(window)]
    return "modified" if modified and (not published or max(modified) >= max(published)) else "published"


def _numeric_day(match: re.Match[str]) -> tuple[int, int, int] | None:
    if match.group(1):
        return int(match.group(1)), int(match.group(2)), int(match.group(3))
    first, second, year = int(match.group(4)), int(match.group(5)), int(match.group(6))
    # The Arab world and Europe write the day first; only an impossible month says otherwise.
    day, month = (second, first) if second > 12 >= first else (first, second)
    return year, month, day


def _hijri_to_gregorian(year: int, month: int, day: int) -> tuple[int, int, int] | None:
    try:
        converted = Hijri(year, month, day).to_gregorian()
    except (ValueError, OverflowError):
        return None
    return converted.year, converted.month, converted.day


def _jalali_to_gregorian(year: int, month: int, day: int) -> tuple[int, int, int] | None:
    try:
        converted = jdatetime.date(year, month, day).togregorian()
    except (ValueError, OverflowError):
        return None
    return converted.year, converted.month, converted.day


def _date_spans(folded: str) -> list[tuple[int, int, int, tuple[int, int, int]]]:
    """(start, end, 1 if Hijri else 0, (year, month, day)) of every written
    date, in text order; where two readings overlap, the Gregorian one."""
    spans: list[tuple[int, int, int, tuple[int, int, int]]] = []
    for m in _GREGORIAN_DATE.finditer(folded):
        spans.append((m.start(), m.end(), 0, (int(m.group(3)), _GREGORIAN[re.sub(r"\s+", " ", m.group(2))], int(m.group(1)))))
    for m in _MONTH_FIRST_DATE.finditer(folded):
        spans.append((m.start(), m.end(), 0, (int(m.group(3)), _GREGORIAN[re.sub(r"\s+", " ", m.group(1))], int(m.group(2)))))
    for m in _NUMERIC_DATE.finditer(folded):
        spans.append((m.start(), m.end(), 0, _numeric_day(m)))
    for m in _HIJRI_DATE.finditer(folded):
        gregorian = _hijri_to_gregorian(int(m.group(3)), _HIJRI[re.sub(r"\s+", " ", m.group(2))], int(m.group(1)))
        if gregorian is not None:
            spans.append((m.start(), m.end(), 1, gregorian))
    for m in _JALALI_DATE.finditer(folded):
        gregorian = _jalali_to_gregorian(int(m.group(3)), _JALALI[m.group(2)], int(m.group(1)))
        if gregorian is not None:
            spans.append((m.start(), m.end(), 0, gregorian))
    kept: list[tuple[int, int, int, tuple[int, int, int]]] = []
    for span in sorted(spans, key=lambda s: (s[2], s[0])):
        if all(span[1] <= other[0] or other[1] <= span[0] for other in kept):
            kept.append(span)
    return sorted(kept)


def visible_dates(text: str) -> list[tuple[ParsedDate, DateKind]]:
    """Dates written for readers in ``text``: Arabic month names of every
    regional set, English, French and Russian ones, Hijri dates, numeric
    dates, in Arabic-Indic or Persian digits too, with the time of day next
    to them; Gregorian before Hijri, each with the kind its label ("آخر
    تحديث", "نشر") gives it."""
    folded = _fold(text)
    spans = _date_spans(folded)
    found: list[tuple[int, ParsedDate, DateKind]] = []
    for i, (start, end, hijri, ymd) in enumerate(spans):
        # A time belongs to the nearest date: never look past a neighbouring one.
        after_limit = spans[i + 1][0] if i + 1 < len(spans) else len(folded)
        before_limit = spans[i - 1][1] if i > 0 else 0
        near = _clock_near(
            folded,
            (end, min(after_limit, end + _CLOCK_REACH)),
            (max(before_limit, start - _CLOCK_REACH), start),
        )
        parsed = _build(*ymd, near[0] if near else None, near[1] if near else None)
        if parsed is not None:
            found.append((hijri, parsed, _kind_at(folded, start)))
    # Hijri conversions can be a day off local sighting: a Gregorian date on the same line goes first.
    return [(parsed, kind) for _, parsed, kind in sorted(found, key=lambda item: item[0])]


# --- where dates live in a page ---------------------------------------------

_PUBLISHED_KEYS = frozenset(
    k.lower()
    for k in (
        "article:published_time", "og:published_time", "og:article:published_time", "article.published",
        "datePublished", "pubdate", "publishdate", "publish-date", "publish_date", "publication_date",
        "DC.date.issued", "dcterms.issued", "dcterms.created", "DC.date", "DC.date.created", "date",
        "parsely-pub-date", "sailthru.date", "article_date_original", "cXenseParse:recs:publishtime",
        "original-publish-date", "bt:pubDate", "datecreated", "uploadDate",
    )
)
_MODIFIED_KEYS = frozenset(
    k.lower()
    for k in (
        "article:modified_time", "og:updated_time", "og:article:modified_time", "dateModified",
        "DC.date.modified", "dcterms.modified", "last-modified", "lastmod", "article.updated",
        "parsely-updated", "bt:modDate",
    )
)
_JSONLD_KEYS: dict[str, DateKind] = {"datePublished": "published", "uploadDate": "published", "dateModified": "modified"}
_JSONLD_FALLBACK = "dateCreated"  # only where a node has no datePublished
_ARTICLE_TYPE = re.compile(r"article|posting|report|blog|news", re.IGNORECASE)
_OUTSIDE_ARTICLE = "ancestor::nav or ancestor::aside or ancestor::footer or (ancestor::header and not(ancestor::article or ancestor::main))"
_DATE_HINT = re.compile(r"date|time|byline|publish|posted|post-meta|article-meta|entry-meta|meta|info|tarikh|details", re.IGNORECASE)
_OTHER_CONTENT = re.compile(r"comment|related|sidebar|widget|most-read|popular|recommend|newsletter|reply", re.IGNORECASE)
_SHORT_LINE = 160
_HINTED_LINE = 300

# Compiled once: tree.xpath() compiles its expression on every call.
# The microdata dates are found by their attributes (a search in C among
# attributes only); the body and meta tests follow in Python on the few found.
_MICRODATA_DATES = etree.XPath("//@itemprop[. = 'datePublished' or . = 'dateModified']")
_LOOSE_TIMES = etree.XPath(f"//body//time[@datetime][not(ancestor::article)][not({_OUTSIDE_ARTICLE})]")
_NAMED_IN_ARTICLE = etree.XPath(f"//body//*[@class or @id][not({_OUTSIDE_ARTICLE})][not(self::script or self::style)]")
_LINES_IN_ARTICLE = etree.XPath(
    f"//body//*[self::p or self::div or self::span or self::li or self::small or self::em][not({_OUTSIDE_ARTICLE})]")


@dataclass(slots=True)
class _Raw:
    """Candidates before time zones are known."""

    items: list[tuple[ParsedDate, DateOrigin, DateKind]] = field(default_factory=list)

    def add(self, raw: str | None, origin: DateOrigin, kind: DateKind) -> None:
        parsed = parse_date_value(raw)
        if parsed is not None:
            self.items.append((parsed, origin, kind))


def _jsonld_nodes(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _jsonld_nodes(item)
    elif isinstance(data, dict):
        yield data
        for key, value in data.items():
            if key != "@context" and isinstance(value, (dict, list)):
                yield from _jsonld_nodes(value)


def _jsonld(tree: lxml.html.HtmlElement, raw: _Raw) -> None:
    nodes: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text.strip().removeprefix("<!--").removesuffix("-->"), strict=False)
        except ValueError:
            continue  # a broken block is the site's bug, not a reason to lose the page's other dates
        nodes.extend(_jsonld_nodes(data))
    # The article's own node first: a page's WebPage or WebSite node has its own dates.
    nodes.sort(key=lambda node: 0 if _ARTICLE_TYPE.search(json.dumps(node.get("@type", ""))) else 1)
    for node in nodes:
        for key, kind in _JSONLD_KEYS.items():
            if isinstance(node.get(key), str):
                raw.add(node[key], "jsonld", kind)
        if "datePublished" not in node and isinstance(node.get(_JSONLD_FALLBACK), str):
            raw.add(node[_JSONLD_FALLBACK], "jsonld", "published")


def _meta(tree: lxml.html.HtmlElement, raw: _Raw) -> None:
    for meta in tree.iter("meta"):
        for attribute in ("property", "name", "itemprop", "http-equiv"):
            value = meta.get(attribute)
            if value is None:
                continue  # a meta tag has one or two of the four
            key = value.strip().lower()
            if key in _PUBLISHED_KEYS:
                raw.add(meta.get("content"), "meta", "published")
            elif key in _MODIFIED_KEYS:
                raw.add(meta.get("content"), "meta", "modified")
    # Microdata on visible elements: <span itemprop="datePublished" content="...">
    for itemprop in _MICRODATA_DATES(tree):
        element = itemprop.getparent()
        if element.tag == "meta" or next(element.iterancestors("body"), None) is None:
            continue
        kind: DateKind = "published" if itemprop == "datePublished" else "modified"
        raw.add(element.get("content") or element.get("datetime") or element.text_content(), "meta", kind)


_MODIFIED_HINT = re.compile(r"updat|modif", re.IGNORECASE)


def _element_kind(element: lxml.html.HtmlElement) -> DateKind:
    hints = " ".join(filter(None, (element.get("class"), element.get("itemprop"), element.get("id"))))
    return "modified" if _MODIFIED_HINT.search(hints) else "published"


def _in_other_content(element: lxml.html.HtmlElement) -> bool:
    """Inside comments, related-story lists or widgets: their dates are not the article's."""
    for ancestor in element.iterancestors():
        if _OTHER_CONTENT.search(f"{ancestor.get('class', '')} {ancestor.get('id', '')}"):
            return True
    return False


def _main_article(tree: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    articles = list(tree.iter("article"))
    with_headline = [a for a in articles if next(a.iterdescendants("h1"), None) is not None]
    if with_headline:  # the innermost <article> around the headline
        return max(with_headline, key=lambda a: sum(1 for _ in a.iterancestors()))
    return articles[0] if len(articles) == 1 else None


def _times(tree: lxml.html.HtmlElement, raw: _Raw) -> None:
    main = _main_article(tree)
    if main is not None:
        # <time>s of teasers or live-blog entries nested in the article are theirs, not the article's.
        elements = [t for t in main.iter("time") if t.get("datetime") and next(t.iterancestors("article")) is main]
    else:
        # Several <article>s and no headline among them: entries of a live blog or a list of teasers.
        elements = _LOOSE_TIMES(tree)
    seen: set[DateKind] = set()
    for element in elements:
        kind = _element_kind(element)
        if kind not in seen and not _in_other_content(element):
            seen.add(kind)  # the first of each kind is the article's own
            raw.add(element.get("datetime"), "time", kind)


def _visible(tree: lxml.html.HtmlElement, raw: _Raw) -> None:
    hinted = [
        element
        for element in _NAMED_IN_ARTICLE(tree)
        if _DATE_HINT.search(f"{element.get('class', '')} {element.get('id', '')}") and not _in_other_content(element)
    ]
    found = False
    for element in hinted:
        text = element.text_content()
        if len(text) <= _HINTED_LINE:
            for parsed, kind in visible_dates(text):
                raw.items.append((parsed, "text", kind))
                found = True
    if found:
        return
    # Div soup without telling class names: the first short line that carries a date.
    for element in _LINES_IN_ARTICLE(tree):
        text = element.text_content()
        if len(text) <= _SHORT_LINE and not _in_other_content(element):
            dates = visible_dates(text)
            if dates:
                raw.items.extend((parsed, "text", kind) for parsed, kind in dates)
                return


_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:[/_.-]|$)")


def _url_date(url: str, raw: _Raw) -> None:
    match = _URL_DATE.search(url)
    if match:
        parsed = _build(int(match.group(1)), int(match.group(2)), int(match.group(3)), None, None)
        if parsed is not None:
            raw.items.append((parsed, "url", "published"))


def _site_zone(raw: _Raw, site_tz: tzinfo | None) -> tzinfo:
    if site_tz is not None:
        return site_tz
    # A page whose JSON-LD says +03:00 writes its naive byline times in +03:00 too.
    for parsed, origin, _kind in raw.items:
        offset = parsed.when.utcoffset() if origin in _STRUCTURED else None
        if offset:
            return timezone(offset)
    return timezone.utc


def _parse_tree(html: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        return None


def _run_htmldate(tree: lxml.html.HtmlElement) -> str | None:
    return htmldate.find_date(tree, extensive_search=False, original_date=True, outputformat="%Y-%m-%dT%H:%M:%S%z")


def date_candidates(
    html: str | lxml.html.HtmlElement,
    url: str,
    *,
    feed_date: datetime | None,
    site_tz: tzinfo | None,
    htmldate_lookup: Callable[[], str | None] | None = None,
) -> list[DateCandidate]:
    """The published and modified dates the page, its feed and its URL give.

    Sources that cannot change the choice are not consulted: visible text
    when structured data gives a published time, htmldate (slow, and it
    repeats what the other sources found) when the page has any published
    date. ``htmldate_lookup`` replaces running htmldate, for a caller that
    already has its answer."""
    raw = _Raw()
    # a caller that already parsed the page passes its tree (read, not changed)
    tree = html if isinstance(html, lxml.html.HtmlElement) else _parse_tree(html)
    if tree is not None:
        _jsonld(tree, raw)
        _meta(tree, raw)
        _times(tree, raw)
        # Visible text can only add a time of day to structured dates that lack one:
        # scanning it (the costliest step) is skipped when they have it.
        if not any(kind == "published" and parsed.precision == "time" for parsed, _o, kind in raw.items):
            _visible(tree, raw)
        if not any(kind == "published" for _p, _o, kind in raw.items):
            lookup = htmldate_lookup or (lambda: _run_htmldate(tree))
            raw.add(lookup(), "htmldate", "published")
    _url_date(url, raw)
    zone = _site_zone(raw, site_tz)
    candidates = [DateCandidate(_to_utc(parsed, zone), origin, parsed.precision, kind) for parsed, origin, kind in raw.items]
    if feed_date is not None:
        feed = feed_date if feed_date.tzinfo else feed_date.replace(tzinfo=zone)
        feed = feed.astimezone(timezone.utc)
        # Sitemaps give bare days, which arrive as midnight UTC.
        precision: Precision = "day" if feed.time() == time(0) else "time"
        candidates.append(DateCandidate(feed, "feed", precision))
    return candidates


def published_candidates(html: str, url: str, *, feed_date: datetime | None, site_tz: tzinfo | None) -> list[DateCandidate]:
    """The published-date candidates of a page (see ``date_candidates``)."""
    return [c for c in date_candidates(html, url, feed_date=feed_date, site_tz=site_tz) if c.kind == "published"]


def _same_day(timed: DateCandidate, day: DateCandidate) -> bool:
    return day.value - _DAY_SPREAD_BEFORE <= timed.value < day.value + _DAY_SPREAD_AFTER


def _choose(candidates: Sequence[DateCandidate], kind: DateKind, now: datetime) -> DateCandidate | None:
    valid = [c for c in candidates if c.kind == kind and c.value <= now + _FUTURE_TOLERANCE]
    pool = [c for c in valid if c.origin != "url"] or valid
    if not pool:
        return None
    ranked = sorted(pool, key=lambda c: _TRUST[c.origin])  # stable: document order within a level
    most_trusted = ranked[0]
    if most_trusted.precision == "time":
        return most_trusted
    for candidate in ranked:
        if candidate.precision == "time" and _same_day(candidate, most_trusted):
            return candidate
    return most_trusted


def choose_published(candidates: Sequence[DateCandidate], *, now: datetime | None = None) -> DateCandidate | None:
    """The published date to record (precedence in the module docstring).
    A date more than a day after ``now`` (the fetch time) is not trusted."""
    return _choose(candidates, "published", now or datetime.now(timezone.utc))


def choose_modified(candidates: Sequence[DateCandidate], *, now: datetime | None = None) -> DateCandidate | None:
    """The modified date to record, chosen like the published one."""
    return _choose(candidates, "modified", now or datetime.now(timezone.utc))


def page_dates(
    html: str | lxml.html.HtmlElement,
    url: str,
    *,
    feed_date: datetime | None,
    site_tz: tzinfo | None,
    fetched_at: datetime | None = None,
    htmldate_lookup: Callable[[], str | None] | None = None,
) -> PageDates:
    """Candidates and chosen dates in one pass over the page."""
    candidates = date_candidates(html, url, feed_date=feed_date, site_tz=site_tz, htmldate_lookup=htmldate_lookup)
    return PageDates(
        tuple(candidates),
        choose_published(candidates, now=fetched_at),
        choose_modified(candidates, now=fetched_at),
    )
