"""Page furniture that survives trafilatura, recognised line by line.

trafilatura removes most boilerplate, but on plain-div layouts short lines
come through: "read also" links, ad labels, tag lists, breadcrumbs, share and
print prompts, bylines, image credits, comment policies, the headline again.
Each such line can make a keyword alert fire on a page that is not about the
keyword, so they are removed here, by language-aware patterns. A pattern only
ever matches a SHORT line (each rule has a word limit): a real paragraph that
happens to start with the same word stays, because dropping article text is
worse than leaking a furniture line.

Hand-written rather than a library: no maintained package knows Arabic (or
Persian, Russian, French) news furniture; the patterns are data, one per job.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Tatweel and Arabic diacritics do not change what a label says.
_ARABIC_MARKS = re.compile("[\u0640\u064B-\u0652\u0670]")


@dataclass(frozen=True)
class FurnitureRule:
    name: str
    pattern: re.Pattern[str]
    max_words: int


def _rule(name: str, pattern: str, max_words: int, *, ignore_case: bool = True) -> FurnitureRule:
    return FurnitureRule(name, re.compile(pattern, re.IGNORECASE if ignore_case else 0), max_words)


# After the line's start: a lookahead ahead of "^" would be tried (and scan
# the rest of the line) at every position of a line without digits.
_DIGIT = r"(?=.*[0-9٠-٩۰-۹])"


RULES: tuple[FurnitureRule, ...] = (
    _rule("read_also", r"^(اقرأ|اقرا|إقرأ)\s+(أيضا|ايضا|أيضًا|كذلك|المزيد)|^(read|see)\s+(also|more)\b|^(lire|voir)\s+aussi\b"
          r"|^читайте\s+также|^(بیشتر\s+)?بخوانید|^مطالب\s+مرتبط|^(مواضيع|أخبار|اخبار)\s+(ذات\s+صلة|متعلقة)"
          r"|^related\s*(articles|stories|news)?\s*:?$|^à\s+lire\s+aussi", 16),
    _rule("ad_label", r"^(إعلان|اعلان|advertisement|advertising|sponsored|publicité|реклама|تبلیغات|آگهی|محتوى\s+مدفوع)\s*[:.]?$", 3),
    # "Tags on the suitcases..." is a sentence: a short label needs its colon.
    _rule("tags", r"^(الكلمات\s+(الدالة|المفتاحية)|كلمات\s+مفتاحية|الوسوم|وسوم|ключевые\s+слова)"
          r"|^(tags|mots[- ]clés|теги|برچسب(\s*ها)?|کلیدواژه(\s*ها)?)\s*([:：]|$)", 25),
    _rule("breadcrumb", r"^(الرئيسية|الصفحة\s+الرئيسية|home|accueil|главная|صفحه\s+اصلی|خانه)\s*([>»/›|\\-]|::|$)", 12),
    _rule("share", r"^(شارك|شاركها|مشاركة|أرسل\s+لصديق|طباعة|share|print|email|partager|imprimer|поделиться|печать"
          r"|اشتراک\s*گذاری|چاپ)(\s+(هذا|الخبر|المقال|على|this|article|on|via|l'article|cet\s+article|статьей|این\s+مطلب))*"
          r"(\s*(عبر|via|par|через|از\s+طریق))?"
          r"(\s*[:|/]?\s*(فيسبوك|تويتر|واتساب|facebook|twitter|x|whatsapp|telegram|email|print|طباعة))*\s*[:.]?$", 8),
    _rule("send_print", r"^(أرسل\s+لصديق|ارسل\s+لصديق|نسخه\s+چاپی|ارسال\s+به\s+دوستان|send\s+to\s+a\s+friend"
          r"|envoyer\s+à\s+un\s+ami|envoyer\s+par\s+e-?mail|send\s+by\s+e-?mail|email\s+this(\s+article)?"
          r"|отправить\s+другу|отправить\s+по\s+почте)$", 5),
    _rule("live_label", r"^(مباشر|بث\s+مباشر|live|en\s+direct|онлайн|прямой\s+эфир|زنده)$"
          r"|^(يتم\s+تحديث\s+هذه\s+الصفحة|this\s+page\s+(updates|is\s+updated|refreshes)|cette\s+page\s+est\s+mise\s+à\s+jour"
          r"|страница\s+обновляется|این\s+صفحه\s+به‌?روز)", 10),
    _rule("follow", r"^(تابعونا|تابعوا|تابعنا|follow\s+us|suivez[- ]nous|подписывайтесь|ما\s+را\s+دنبال\s+کنید)\b", 14),
    # كتب alone also starts ordinary sentences ("wrote"): only with a colon or dash.
    _rule("byline", r"^(بقلم|إعداد|اعداد|نویسنده|автор)\s*[:：\-–]?\s*\S|^(كتب|كتبت|تحرير|تقرير|متابعة)\s*[:：\-–]\s*\S", 6),
    # Latin bylines: By/Par and capitalised names only ("By Monday, talks..." stays).
    _rule("byline_latin", r"^(By|BY|Par|PAR)\s+([A-ZÀ-Ý][\w.'’-]+\s*(and|et|,|&)?\s*){1,5}$", 8, ignore_case=False),
    _rule("caption_credit", r"^(صورة|الصورة|صور|photo|image|фото|عکس)\s*[:：(]|^(صورة\s+أرشيفية|photo\s+d'archives|photos?\s+archives?"
          r"|archive\s+photo|file\s+photo|архивное\s+фото|عکس\s+آرشیوی)$|[(\[]\s*(الصورة\s+من|تصوير|photo|crédit"
          r"|фото)[^)\]]*[)\]]\s*$|[-–]\s*(تصوير|photo|фото|عکس\s+از)\s*[:：]?\s*\S+(\s+\S+){0,3}$|[(\[]\s*(رويترز|أ\s*ف\s*ب|ا\s*ف\s*ب|الأناضول"
          r"|reuters|afp|ap|getty(\s+images)?|epa|anadolu)\s*[)\]]\s*$", 20),
    _rule("comment_policy", r"(التعليقات|تعليقات\s+القراء|تعليقات\s+الزوار).{0,60}(لا\s+تعبر|تعبر\s+عن|مسؤولية|مسئولية)"
          r"|comments?\s+(do\s+not|don't)\s+(reflect|represent)|les\s+commentaires.{0,40}(n'engagent|ne\s+reflètent)"
          r"|комментарии.{0,40}(не\s+отражают)|نظرات.{0,40}(منتشر|مسئولیت|مسؤولیت)", 45),
    _rule("comments_header", r"^(التعليقات|أضف\s+تعليق|اضف\s+تعليقك|comments?|leave\s+a\s+(comment|reply)|commentaires"
          r"|комментарии|نظرات|دیدگاه)\s*(\(\d+\))?\s*[:.]?$", 4),
    _rule("cookie", r"^(?=.*(ملفات\s+تعريف\s+الارتباط|الكوكيز|cookies?|кук|کوکی))"
          r"(?=.*(نستخدم|يستخدم|تستخدم|نحن|we\s+use|this\s+(site|website)|nous\s+utilisons|accept|قبول|موافق|توافق"
          r"|используем|استفاده))", 40),
    _rule("updated_line", r"^" + _DIGIT + r"(آخر\s+تحديث|تم\s+التحديث|نشر\s+في|تاريخ\s+النشر|last\s+updated|updated|published|publié\s+le"
          r"|mis\s+à\s+jour|обновлено|опубликовано|تاریخ\s+انتشار|به‌?روزرسانی)\s*[:：]?", 12),
)


def _clean(line: str) -> str:
    # a zero-width non-joiner joins the parts of one Persian word: a space for matching
    line = unicodedata.normalize("NFC", line).replace("\u200c", " ")
    # str.split() and the regex \s know the same whitespace: joining the
    # words collapses its runs and trims the ends, at half the cost of a regex
    return " ".join(_ARABIC_MARKS.sub("", line).split())


@lru_cache(maxsize=4)
def _clean_lines(text: str) -> tuple[str, ...]:
    """Every line of ``text`` cleaned, once: the headline search and the
    line rules read the same text (extraction asks for its headline first)."""
    return tuple(_clean(line) for line in text.split("\n"))


# Furniture often comes as one line of items: "byline | date", "print ·
# send · share", or a table row "| menu | |" of a table layout.
_SEPARATORS = re.compile(r"\s+(?:\||·|::|•)\s+")


_LONGEST_RULE = max(rule.max_words for rule in RULES)


def _classify_one(clean: str) -> str | None:
    words = len(clean.split())
    if words > _LONGEST_RULE:  # an article paragraph: no rule looks at lines this long
        return None
    for rule in RULES:
        if words <= rule.max_words and rule.pattern.search(clean):
            return rule.name
    return None


def _segments(clean: str) -> list[str]:
    return [seg for seg in (part.strip(" |") for part in _SEPARATORS.split(clean.strip(" |"))) if seg]


def _has_separator(line: str) -> bool:
    # most lines hold none of the marks: plain scans for them are cheaper
    # than the regex, which tries its pattern at every space
    return ("|" in line or "·" in line or "::" in line or "•" in line) and _SEPARATORS.search(line) is not None


def _is_paragraph(line: str) -> bool:
    # the common case, decided without cleaning the line
    return len(line.split()) > _LONGEST_RULE and not _has_separator(line)


def classify_line(line: str) -> str | None:
    """The furniture rule ``line`` falls under, or None for text. A line of
    several items is furniture when every item is."""
    if _is_paragraph(line):
        return None
    return _classify_clean(_clean(line))


def _classify_clean(clean: str) -> str | None:
    """classify_line of a line that is not a paragraph, given cleaned."""
    if not clean:
        return None
    found = _classify_one(clean.strip(" |"))
    if found:
        return found
    # a bare clock time ("11:05") is a live blog's entry stamp, which is text
    if len(clean.split()) <= _DATE_LINE_MAX_WORDS and _date_only(clean) and not _CLOCK_ONLY.match(clean):
        return "date_line"
    parts = _segments(clean)
    if len(parts) > 1:
        kinds = [
            _classify_one(part) or (_date_only(part) if len(part.split()) <= _DATE_LINE_MAX_WORDS else None)
            for part in parts
        ]
        if all(kinds):
            return next((k for k in kinds if k != "date"), "date_line")
    return None


_DATE_WORDS = re.compile(
    r"^([0-9\u0660-\u0669\u06F0-\u06F9]{1,4}[\s/.:،,-]*|(يناير|فبراير|مارس|أبريل|إبريل|مايو|يونيو|يوليو|أغسطس|سبتمبر|أكتوبر"
    r"|نوفمبر|ديسمبر|كانون|شباط|آذار|نيسان|أيار|حزيران|تموز|آب|أيلول|تشرين|الأول|الثاني|الأحد|الاثنين|الإثنين|الثلاثاء"
    r"|الأربعاء|الخميس|الجمعة|السبت|ص|م|نشر\s+في:?|january|february|march|april|may|june|july|august|september"
    r"|october|november|december|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
    r"|января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|am|pm|gmt|utc)[\s/.:،,-]*)+$",
    re.IGNORECASE,
)


_DATE_LINE_MAX_WORDS = 12
_CLOCK_ONLY = re.compile(r"^[0-9\u0660-\u0669\u06F0-\u06F9]{1,2}[:.][0-9\u0660-\u0669\u06F0-\u06F9]{2}$")


def _date_only(part: str) -> str | None:
    """"date" when an item is only a date or time (beside a byline)."""
    return "date" if any(c.isdigit() for c in part) and _DATE_WORDS.match(part) else None


@dataclass
class Stripped:
    text: str
    removed: list[tuple[str, str]]  # (rule, line)


_TITLE_SEPARATORS = re.compile(r"\s+(?:\||::|-|–|—|»|·)\s+")


def headline_of(title: str | None, text: str) -> str | None:
    """The headline within a ``<title>`` that also names the site ("Council
    meets :: Paris Village"): the part of it the page repeats as a line of
    its text (the <h1>). None when no part is repeated."""
    if not title:
        return None
    parts = [_clean(part) for part in _TITLE_SEPARATORS.split(title)]
    if len(parts) < 2:
        return None
    lines = set(_clean_lines(text))
    found = [part for part in parts if part and part in lines]
    return max(found, key=len) if found else None


def strip_furniture(text: str, title: str | None = None) -> Stripped:
    """``text`` without furniture lines (and without the headline repeated
    inside it), with what was removed and why."""
    headline = _clean(headline_of(title, text) or title) if title else None
    kept: list[str] = []
    removed: list[tuple[str, str]] = []
    for line, clean in zip(text.split("\n"), _clean_lines(text)):
        if headline and clean == headline:
            rule: str | None = "headline"
        else:
            rule = None if _is_paragraph(line) else _classify_clean(clean)
        if rule:
            removed.append((rule, line.strip()))
        else:
            kept.append(line)
    return Stripped("\n".join(kept).strip(), removed)
