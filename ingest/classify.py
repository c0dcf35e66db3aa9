"""What kind of page the ingest stage is looking at: only articles are indexed.

Every page gets a verdict (classification, machine-readable kind, one
sentence of evidence) so the pages that are not indexed are counted and
dead-lettered with the reason instead of silently disappearing or, worse,
being indexed as if a tag page were news.

The rules measure the page rather than guess from one hint, and each
not-article rule needs two independent kinds of evidence: the page says what
it is (og:type, JSON-LD, URL, markup) AND the extracted text agrees (a list of
headlines, captions only, a few words under a player, a teaser under a
paywall). A missed listing costs an indexed list of headlines; a missed
article costs news nobody will see, so every threshold leans towards
"article".

Every page is classified, so an ordinary article must cost little (a few
tenths of a millisecond): each rule first reads the cheap evidence its verdict
cannot do without (the page's own type, URL, flags, names of boxes) and only
then the costly kind (every link and its card, the shown text of the body).
Each such shortcut says why the rule could not have fired without it.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from html import unescape
from itertools import filterfalse
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree
from lxml import html as lxml_html

from ingest.models import Classification


@dataclass(frozen=True)
class PageVerdict:
    classification: Classification
    kind: str
    detail: str

    @property
    def is_article(self) -> bool:
        return self.classification == "article"


# --- binary bodies -------------------------------------------------------------

# (offset, signature, kind), most specific first. Only formats a web server
# plausibly sends by mistake under text/html: images, documents, archives, media.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", "pdf"),
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (8, b"WEBP", "webp"),
    (4, b"ftypavif", "avif"),
    (4, b"ftypheic", "heic"),
    (4, b"ftypmif1", "heic"),
    (4, b"ftypqt  ", "mov"),
    (4, b"ftyp", "mp4"),
    (0, b"\x1aE\xdf\xa3", "webm"),
    (0, b"OggS", "ogg"),
    (0, b"ID3", "mp3"),
    (0, b"FLV\x01", "flv"),
    (0, b"PK\x03\x04", "zip"),
    (0, b"PK\x05\x06", "zip"),
    (0, b"\x1f\x8b", "gzip"),
    (0, b"\x28\xb5\x2f\xfd", "zstd"),
    (0, b"BZh", "bzip2"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z"),
    (0, b"Rar!\x1a\x07", "rar"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "msoffice"),
    (0, b"wOFF", "woff"),
    (0, b"wOF2", "woff2"),
    (0, b"II*\x00", "tiff"),
    (0, b"MM\x00*", "tiff"),
    (0, b"\x00\x00\x01\x00", "ico"),
    (0, b"\x7fELF", "elf"),
)
_SNIFF_BYTES = 1024
# Text never holds these; a body where they are common is not text.
_TEXT_CONTROLS = {0x09, 0x0A, 0x0C, 0x0D, 0x1B}
_BINARY_CONTROL_SHARE = 0.10
_BINARY_NUL_SHARE = 0.02
# Deleting these from a head leaves its control bytes (counted in C, not byte by byte).
_NOT_CONTROLS = bytes(b for b in range(256) if b >= 0x20 or b in _TEXT_CONTROLS)


def _signature_matcher(*, loose: bool) -> tuple[re.Pattern[bytes], tuple[str, ...]]:
    """All of _SIGNATURES as one anchored regex, one group per signature in
    their order (alternatives are tried in order: the first that matches wins,
    as in a loop over the list)."""
    alternatives, kinds = [], []
    for offset, signature, kind in _SIGNATURES:
        if loose and not any(b < 0x80 and b > 0x20 for b in signature[:4]):
            continue  # nothing ASCII to recognise it by
        # Decoded text lost the non-ASCII bytes: only the ASCII ones can be compared.
        body = b"".join(b"." if loose and b >= 0x80 else re.escape(bytes([b])) for b in signature)
        if kind == "bzip2":
            body += b"." + re.escape(b"1AY&SY")  # "BZh" also starts ordinary words
        alternatives.append(b".{%d}(%s)" % (offset, body))
        kinds.append(kind)
    return re.compile(b"\\A(?:" + b"|".join(alternatives) + b")", re.DOTALL), tuple(kinds)


_EXACT_SIGNATURES = _signature_matcher(loose=False)
_LOOSE_SIGNATURES = _signature_matcher(loose=True)


def _signature_kind(head: bytes, *, loose: bool = False) -> str | None:
    pattern, kinds = _LOOSE_SIGNATURES if loose else _EXACT_SIGNATURES
    match = pattern.match(head)
    return kinds[match.lastindex - 1] if match else None


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 text has a NUL in every other byte (ASCII markup) or a BOM."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    even, odd = head[0::2], head[1::2]
    return bool(head) and (even.count(0) > 0.4 * len(even) or odd.count(0) > 0.4 * len(odd)) and not (
        even.count(0) and odd.count(0)
    )


def binary_kind(body: bytes) -> str | None:
    """Magic-number sniffing of a body labelled as HTML: 'pdf', 'png',
    'jpeg', 'gif', 'webp', 'zip', 'gzip', 'mp4', ... ('binary' when it has no
    known signature but is clearly not text) or None for text."""
    head = body[:_SNIFF_BYTES]
    kind = _signature_kind(head)
    if kind is not None:
        return kind
    if not head or _looks_utf16(head):
        return None
    # one stray NUL is a broken CMS, not a binary file
    controls = len(head.translate(None, _NOT_CONTROLS))
    nuls = head.count(0)
    return "binary" if nuls > _BINARY_NUL_SHARE * len(head) or controls > _BINARY_CONTROL_SHARE * len(head) else None


# The bytes _signature_kind reads: every signature, and bytes 4-10 for bzip2.
_SIGNATURE_SPAN = max(10, *(offset + len(signature) for offset, signature, _ in _SIGNATURES))
# Replacement characters and the control characters text never holds (all
# below 0x20 except those in _TEXT_CONTROLS).
_JUNK = re.compile("[\ufffd" + "".join(
    re.escape(chr(c)) for c in range(0x20) if c not in _TEXT_CONTROLS) + "]")


def _decoded_binary_kind(html: str) -> str | None:
    """The same sniffing on a body already decoded to text (the bytes it
    came from are gone: non-Latin-1 characters stand for the lost bytes)."""
    head = html[:_SNIFF_BYTES]
    # Only the signature span is compared, and only its ASCII bytes (loose):
    # any character past 0xFF may stand as 0xFF there.
    raw = bytes(min(ord(c), 0xFF) for c in head[:_SIGNATURE_SPAN])
    kind = _signature_kind(raw, loose=True)
    if kind is not None:
        return kind
    junk = len(_JUNK.findall(head))
    return "binary" if head and junk > _BINARY_CONTROL_SHARE * len(head) else None


def binary_verdict(kind: str) -> PageVerdict:
    return PageVerdict("failed", "binary", f"body labelled as HTML is {kind} data, not a page")


def too_large_verdict(size: int, limit: int) -> PageVerdict:
    return PageVerdict("too_large", "too_large", f"page of {size:,} bytes is over the {limit:,}-byte limit")


# --- page evidence ----------------------------------------------------------------

_ARTICLE_TYPES = {
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "backgroundnewsarticle", "reviewnewsarticle", "askpublicnewsarticle", "blogposting", "liveblogposting",
    "report", "techarticle", "scholarlyarticle", "socialmediaposting",
}
_LISTING_TYPES = {"collectionpage", "itemlist", "searchresultspage", "profilepage"}
_GALLERY_TYPES = {"imagegallery", "mediagallery", "videogallery"}
# Site-wide entities most pages carry; they say nothing about this page.
_SITE_TYPES = {
    "website", "organization", "newsmediaorganization", "breadcrumblist", "listitem", "person", "imageobject",
    "sitenavigationelement", "wpheader", "wpfooter", "wpsidebar", "searchaction", "webpage", "localbusiness",
}
_FALSE = {"false", "no", "0"}

_ARABIC_MARKS = re.compile("[\u0640\u064b-\u0652\u0670]")
# Persian yeh and kaf too: one marker list serves both scripts.
_ALEFS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ی": "ي", "ک": "ك"})
_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    """Case, Arabic marks, alef forms and spacing do not change a phrase."""
    text = _ARABIC_MARKS.sub("", unicodedata.normalize("NFKC", text)).translate(_ALEFS).lower()
    return _SPACE.sub(" ", text.replace("\u200c", " ")).strip()


def _squeeze(text: str) -> str:
    """Whitespace-free form: the extractor and the tree join inline pieces differently."""
    return _SPACE.sub("", text.replace("\u200c", "").replace("\u034f", ""))


_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


def _words(text: str) -> int:
    """Tokens holding a letter. A token of letters only (isalpha) has one:
    most tokens are settled by that test, run in C over them all, and the
    regex looks at the others only."""
    tokens = text.split()
    others = list(filterfalse(str.isalpha, tokens))
    return len(tokens) - len(others) + sum(1 for _ in filter(_LETTERS.search, others))


def _type_names(node: dict[str, Any]) -> set[str]:
    kinds = node.get("@type")
    values = kinds if isinstance(kinds, list) else [kinds]
    return {str(v).rsplit("/", 1)[-1].lower() for v in values if v}


def _top_level_nodes(data: Any) -> Iterator[dict[str, Any]]:
    """The entities a JSON-LD block describes at its top (and a WebPage's
    mainEntity): nested ones (an article's video, its author) are parts."""
    if isinstance(data, list):
        for item in data:
            yield from _top_level_nodes(item)
        return
    if not isinstance(data, dict):
        return
    if isinstance(data.get("@graph"), list):
        yield from _top_level_nodes(data["@graph"])
    if "@type" in data:
        yield data
        main = data.get("mainEntity")
        if isinstance(main, (dict, list)):
            yield from _top_level_nodes(main)


def _walk(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _walk(item)
    elif isinstance(data, dict):
        yield data
        for value in data.values():
            if isinstance(value, (dict, list)):
                yield from _walk(value)


# XPath expressions compiled once (tree.xpath() compiles them on every call).
_JSON_LD_TYPE = "application/ld+json"
_JSON_LD = etree.XPath(f'//script[@type="{_JSON_LD_TYPE}"]/text()')
_OG_VIDEO = etree.XPath('//meta[@property="og:video" or @property="og:video:url"]')
_SCRIPT_BUNDLES = etree.XPath("//script[@src]")


@dataclass
class StructuredData:
    """What the page's JSON-LD says about it."""

    main_types: set[str] = field(default_factory=set)
    article_body_chars: int = 0
    free: bool | None = None
    locked_selectors: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, tree: lxml_html.HtmlElement | None) -> StructuredData:
        found = cls()
        # most pages hold no JSON-LD: a walk over their scripts settles it
        # for a fraction of the XPath search's fixed cost
        if tree is None or not any(script.get("type") == _JSON_LD_TYPE for script in tree.iter("script")):
            return found
        for script in _JSON_LD(tree):
            try:
                data = json.loads(script)
            except ValueError:
                continue  # broken JSON-LD is common; the rest of the page still speaks
            found._add(data)
        return found

    def _add(self, data: Any) -> None:
        for node in _top_level_nodes(data):
            self.main_types |= _type_names(node) - _SITE_TYPES
        for node in _walk(data):
            body = node.get("articleBody")
            if isinstance(body, str):
                self.article_body_chars = max(self.article_body_chars, len(body.strip()))
            free = node.get("isAccessibleForFree")
            if free is not None and str(free).strip().lower() in _FALSE:
                self.free = False
                selector = node.get("cssSelector")
                if isinstance(selector, str) and selector.strip():
                    self.locked_selectors.append(selector.strip())
            elif free is not None and self.free is None:
                self.free = True

    @property
    def is_article(self) -> bool:
        return bool(self.main_types & _ARTICLE_TYPES)


# Containers whose links are the site's, not the page's own content. A
# header or footer inside an <article> is the story's own (a card's headline).
_FURNITURE_TAGS = {"nav", "aside"}
_PAGE_FRAME_TAGS = {"header", "footer"}
_FURNITURE_NAMES = {"site-header", "site-footer", "page-footer", "masthead", "top-bar", "topbar", "most-read",
                    "most-viewed", "mostread", "tagcloud", "widget-area"}
# Matched against each hyphen-separated part too ("breaking-ticker", "main-menu").
_FURNITURE_PARTS = {"sidebar", "widget", "menu", "nav", "navbar", "navigation", "breadcrumb", "breadcrumbs", "ticker",
                    "breaking", "trending", "popular", "related", "recommended", "social", "share", "sharing"}
_CLASS_SPLIT = re.compile(r"[\s_]+")
# A headline has a few words; menu entries and "more" links have one or two.
_HEADLINE_MIN_WORDS = 3
_HEADLINE_MIN_CHARS = 15
# A card is a headline with its summary, image and time; a block much longer
# than its headline plus a summary is a story, not a card.
_CARD_EXTRA_CHARS = 300
# A card starts with its headline (after a kicker or a date at most); a block
# where the link comes later is a paragraph with a "read also" link in it.
_CARD_LEAD_CHARS = 60
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


def _names(element: lxml_html.HtmlElement) -> set[str]:
    raw = f"{element.get('class', '')} {element.get('id', '')}".lower()
    return {name for name in _CLASS_SPLIT.split(raw) if name}


def _furniture_names(element: lxml_html.HtmlElement) -> bool:
    names = _names(element)
    return bool(names & _FURNITURE_NAMES or {part for name in names for part in name.split("-")} & _FURNITURE_PARTS)


class _Furniture:
    """Whether an element is in the site's furniture: it or an ancestor is a
    furniture container, or a page header/footer outside any <article>.
    Each ancestor is read once per page, not once per link under it."""

    def __init__(self) -> None:
        # element -> (furniture container, page frame tag, <article>) on its chain up to the root
        self._chains: dict[lxml_html.HtmlElement, tuple[bool, bool, bool]] = {}

    def _chain(self, element: lxml_html.HtmlElement) -> tuple[bool, bool, bool]:
        path = []
        node: lxml_html.HtmlElement | None = element
        while node is not None and node not in self._chains:
            path.append(node)
            node = node.getparent()
        furniture, frame, article = self._chains[node] if node is not None else (False, False, False)
        for node in reversed(path):
            furniture = furniture or node.tag in _FURNITURE_TAGS or _furniture_names(node)
            frame = frame or node.tag in _PAGE_FRAME_TAGS
            article = article or node.tag == "article"
            self._chains[node] = (furniture, frame, article)
        return furniture, frame, article

    def __call__(self, element: lxml_html.HtmlElement) -> bool:
        furniture, frame, in_article = self._chain(element)
        return furniture or (frame and not in_article)


_HIDDEN_TAGS = {"script", "style", "template"}
_VISIBLE = ".//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::template)]"
# A gate the site hides from readers who may read on (rendered for everyone,
# shown by a script) says nothing about this copy of the page.
_SHOWN = _VISIBLE[:-1] + (" and not(ancestor-or-self::*[@hidden or @aria-hidden='true'"
                          " or contains(translate(@style, ' ', ''), 'display:none')])]")


_VISIBLE_XPATH = etree.XPath(_VISIBLE)
_SHOWN_XPATH = etree.XPath(_SHOWN)


def _visible_text(element: lxml_html.HtmlElement) -> str:
    return " ".join(_VISIBLE_XPATH(element))


def _shown_text(element: lxml_html.HtmlElement) -> str:
    return " ".join(_SHOWN_XPATH(element))


def text_lengths(tree: lxml_html.HtmlElement) -> dict[lxml_html.HtmlElement, int]:
    """Visible characters under every element, in one pass: asking each
    element for its text would read a listing's 3,000 cards 3,000 times."""
    lengths: dict[lxml_html.HtmlElement, int] = {}
    for element in reversed(list(tree.iter())):  # children before their parents
        if not isinstance(element.tag, str) or element.tag in _HIDDEN_TAGS:
            lengths[element] = 0
            continue
        lengths[element] = len(element.text or "") + sum(lengths[c] + len(c.tail or "") for c in element)
    return lengths


@dataclass(frozen=True)
class HeadlineLink:
    href: str
    text: str
    card_text: str
    in_furniture: bool


def _is_page_link(href: str) -> bool:
    href = href.strip().lower()
    return bool(href) and not href.startswith(("#", "javascript:", "mailto:", "tel:", "whatsapp:"))


def _headline_text(anchor: lxml_html.HtmlElement) -> str | None:
    """The anchor's text when it reads like a headline linking to a page."""
    if not _is_page_link(anchor.get("href", "")):
        return None
    # A childless anchor's text is all its text: no XPath string() call needed.
    text = (anchor.text or "") if len(anchor) == 0 else anchor.text_content()
    stripped = text.strip()
    if len(stripped) < _HEADLINE_MIN_CHARS or _words(stripped) < _HEADLINE_MIN_WORDS:
        return None
    return text


def _leads(parent: lxml_html.HtmlElement, link_text: str, in_heading: bool) -> bool:
    if in_heading:
        return True
    return 0 <= _squeeze(_visible_text(parent)).find(_squeeze(link_text)) <= _CARD_LEAD_CHARS


def _card_of(anchor: lxml_html.HtmlElement, link_text: str, others: set[lxml_html.HtmlElement],
             lengths: dict[lxml_html.HtmlElement, int]) -> lxml_html.HtmlElement:
    """The largest block around ``anchor`` that holds no other headline
    link, starts with it and is not much more than a headline and a summary."""
    in_heading = any(node.tag in _HEADINGS for node in anchor.iterancestors())
    card = anchor
    for parent in anchor.iterancestors():
        if parent.tag in ("body", "html") or lengths.get(parent, 0) > len(link_text) + _CARD_EXTRA_CHARS:
            break
        if any(a is not anchor and a in others for a in parent.iter("a")) or not _leads(parent, link_text, in_heading):
            break
        card = parent
    return card


@dataclass(frozen=True)
class HeadlineAnchor:
    """A link that reads like a headline, before its card is looked for."""

    element: lxml_html.HtmlElement
    href: str
    text: str
    in_furniture: bool


def headline_anchors(tree: lxml_html.HtmlElement | None) -> list[HeadlineAnchor]:
    """Links whose text reads like a headline (without their cards: counting
    teasers needs only these)."""
    if tree is None:
        return []
    furniture = _Furniture()
    anchors = []
    for anchor in tree.iter("a"):
        text = _headline_text(anchor)
        if text is not None:
            anchors.append(HeadlineAnchor(anchor, anchor.get("href", "").strip(), _SPACE.sub(" ", text).strip(),
                                          furniture(anchor)))
    return anchors


def headline_links(tree: lxml_html.HtmlElement | None,
                   anchors: list[HeadlineAnchor] | None = None) -> list[HeadlineLink]:
    """Links whose text reads like a headline, each with the text of its card."""
    if tree is None:
        return []
    if anchors is None:
        anchors = headline_anchors(tree)
    chosen = {a.element for a in anchors}
    lengths = text_lengths(tree) if anchors else {}
    return [HeadlineLink(a.href, a.text, _visible_text(_card_of(a.element, a.text, chosen, lengths)), a.in_furniture)
            for a in anchors]


@dataclass(frozen=True)
class TextShape:
    """The extracted text split into what came from headline cards and prose
    (read over its first lines: a page's nature shows there)."""

    chars: int
    words: int
    read_chars: int
    card_chars: int
    prose_words: int
    prose_lines: int

    @property
    def card_share(self) -> float:
        return self.card_chars / self.read_chars if self.read_chars else 0.0


_BULLET = re.compile(r"^\s*[-•*·]\s+")
# A line this short is a label (section name, date, pagination), not prose.
_PROSE_MIN_WORDS = 6
# Bounds on the work for a huge listing; far more than any article needs.
_MAX_LINES = 400
_MAX_CARDS = 600
_HEAD_KEY = 8


class _CardIndex:
    """Answers "did this line come from a card?" without comparing every
    line with every card."""

    def __init__(self, links: list[HeadlineLink], extra_blocks: Sequence[str]) -> None:
        texts = [link.card_text for link in links[:_MAX_CARDS]] + list(extra_blocks)
        self.cards = "\x00".join(_squeeze(t) for t in texts)
        self.heads: dict[str, list[str]] = {}
        for link in links[:_MAX_CARDS]:
            head = _squeeze(link.text)
            self.heads.setdefault(head[:_HEAD_KEY], []).append(head)

    def __contains__(self, line: str) -> bool:
        squeezed = _squeeze(line).replace("\x00", "")
        if squeezed and squeezed in self.cards:
            return True
        # a headline the extractor ran together with what follows its card
        return any(squeezed.startswith(head) for head in self.heads.get(squeezed[:_HEAD_KEY], ()))


def text_shape(text: str, links: list[HeadlineLink], extra_blocks: Sequence[str] = ()) -> TextShape:
    """``extra_blocks``: further texts (captions) whose lines are not prose either."""
    lines = [line for line in (_BULLET.sub("", raw).strip() for raw in text.splitlines()) if line]
    index = _CardIndex(links, extra_blocks)
    read = lines[:_MAX_LINES]
    card_chars = prose = prose_lines = 0
    for line in read:
        if line in index:
            card_chars += len(line)
            continue
        words = _words(line)
        if words >= _PROSE_MIN_WORDS:
            prose += words
            prose_lines += 1
    return TextShape(
        sum(len(line) for line in lines), _words(text), sum(len(line) for line in read), card_chars, prose, prose_lines
    )


# --- the signals --------------------------------------------------------------

_TAG_PATH = re.compile(r"/(tags?|topics?|keywords?|hashtags?|وسم|الوسم|وسوم|الوسوم|كلمات-مفتاحية|برچسب|تگ)(/|$)"
                       r"|[?&]tags?=")
_SECTION_PATH = re.compile(r"/(sections?|category|categories|cat|archives?|service|author|authors|قسم|تصنيف|أرشيف"
                           r"|ارشيف|دسته|سرویس)(/|$)|/page/\d+/?$|[?&](page|paged)=\d+")
_HOME_PATH = re.compile(r"^/?([a-z]{2}/?)?(index\.(html?|php|aspx?))?$")
_LISTING_BODY_CLASSES = {"archive", "category", "tag", "paged", "term", "taxonomy", "section-page", "search-results"}


def _listing_hint(url: str) -> str | None:
    parts = urlsplit(url)
    path = unquote(parts.path).lower()
    where = path + ("?" + parts.query.lower() if parts.query else "")
    if _TAG_PATH.search(where):
        return "tag"
    if _SECTION_PATH.search(where):
        return "section"
    # index.php?id=123 is how old CMSs address an article
    return "home" if _HOME_PATH.match(path) and not parts.query else None


_PLAYER = re.compile(
    r"<(video|amp-video|amp-youtube|amp-jwplayer)\b"
    r"|<iframe[^>]+src=[\"'][^\"']*(youtube|vimeo|dailymotion|jwplayer|/embed/|player)"
    r"|class=[\"'][^\"']*\b(video-js|jwplayer|player-wrap|video-player)\b", re.IGNORECASE)
_FIGCAPTION = re.compile(r"<figcaption\b[^>]*>(.*?)</figcaption>", re.IGNORECASE | re.DOTALL)
_IMAGE = re.compile(r"<(img|amp-img)\b", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")

_MOUNT_IDS = {"root", "__next", "app", "___gatsby", "__nuxt", "svelte", "app-root", "main-app", "react-root"}
_JS_MESSAGE = re.compile(r"java\s*script|\bjs\b|جافا\s*سكري?بت|جافاسكري?بت|جاوا\s*اسکریپت|جاوااسکریپت", re.IGNORECASE)
# A mounted app with less text than this has not rendered anything readable.
_EMPTY_MOUNT_CHARS = 200
_BUNDLE_MIN_SCRIPTS = 3

# Phrases that say the story stops here. Labels such as "exclusive to
# subscribers" are not among them: full articles wear them too.
_PAYWALL_GATES = tuple(_norm(m) for m in (
    "subscribe to continue reading", "subscribe to read", "to continue reading", "continue reading with",
    "already a subscriber", "sign in to continue reading", "register to continue reading", "to read the full article",
    "to read the rest", "this article is for subscribers only", "available to subscribers only",
    "اشترك لمتابعة القراءة", "اشترك لمواصلة القراءة", "لمتابعة القراءة", "لمواصلة القراءة", "لقراءة المقال كاملا",
    "لقراءة بقية المقال", "لقراءة المزيد اشترك", "هل أنت مشترك بالفعل", "هل انت مشترك", "متاح للمشتركين فقط",
    "برای ادامه مطالعه", "برای خواندن ادامه", "برای مطالعه کامل",
    "la suite est réservée aux abonnés", "abonnez-vous pour lire la suite", "pour lire la suite", "déjà abonné",
    "чтобы продолжить чтение", "чтобы читать дальше", "уже подписчик", "доступно только подписчикам",
))
# "paywalled-content" is the locked story itself, not the gate in front of it.
_PAYWALL_NAMES = re.compile(r"paywall(?!ed)|pay-wall|regwall|reg-wall|subscriber-wall|subscription-wall|meter-wall"
                            r"|piano|tp-modal|premium-wall|locked-content|article-locked|gate-wall")
# The class and id values of every div, section and aside, read in C. A gate
# box is one whose "class id" (lowered) matches _PAYWALL_NAMES; no name holds
# a newline and the only context a name reads, "(?!ed)", is not "\n" either,
# so such a box makes the values joined by newlines (lowered) match too.
_GATE_NAMES = etree.XPath("(//div | //section | //aside)/@*[name()='class' or name()='id']", smart_strings=False)
# Metered paywalls render into an empty placeholder on every page: only a
# container with a message in it is a gate.
_GATE_MIN_CHARS = 20
# Locked parts with this much text are the full story served to the crawler.
_LOCKED_PRESENT_CHARS = 200
# A teaser is a paragraph or three; a page with more text has the story.
# Unless the page names its locked part (and it is missing), both must hold:
# a full story behind a visible subscription box is still the story.
_TEASER_MAX_CHARS = 1500
_TEASER_MAX_PARAGRAPHS = 3

_SIMPLE_SELECTOR = re.compile(r"^([a-z][a-z0-9-]*)?((?:[.#][\w-]+)+)?$", re.IGNORECASE)


def _selector_xpath(selector: str) -> str | None:
    """XPath of a simple CSS selector ('.paywall', '#body', 'div.locked'),
    None for selectors this reader does not understand."""
    match = _SIMPLE_SELECTOR.match(selector.strip())
    if not match or not selector.strip():
        return None
    tests = []
    for part in re.findall(r"[.#][\w-]+", match.group(2) or ""):
        if part[0] == ".":
            tests.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {part[1:]} ')")
        else:
            tests.append(f"@id='{part[1:]}'")
    condition = f"[{' and '.join(tests)}]" if tests else ""
    return f"//{match.group(1) or '*'}{condition}"


class Page:
    """One page's measurements, each computed when a rule first asks."""

    def __init__(self, tree: lxml_html.HtmlElement | None, html: str, url: str, text: str, min_chars: int) -> None:
        self.tree = tree
        self.html = html
        self.url = url
        self.text = text.strip()
        self.min_chars = min_chars

    @cached_property
    def data(self) -> StructuredData:
        return StructuredData.read(self.tree)

    @cached_property
    def og_type(self) -> str:
        # the first <meta property|name="og:type"> with a content; a walk over
        # the meta tags costs a third of an XPath search's fixed cost
        for meta in self.tree.iter("meta") if self.tree is not None else ():
            if "og:type" in (meta.get("property"), meta.get("name")):
                content = meta.get("content")
                if content is not None:
                    return content.strip().lower()
        return ""

    @cached_property
    def anchors(self) -> list[HeadlineAnchor]:
        return headline_anchors(self.tree)

    @cached_property
    def links(self) -> list[HeadlineLink]:
        return headline_links(self.tree, self.anchors)

    @cached_property
    def shape(self) -> TextShape:
        return text_shape(self.text, self.links)

    @cached_property
    def main_teasers(self) -> int:
        """Distinct pages the content area links to with a headline."""
        return len({anchor.href for anchor in self.anchors if not anchor.in_furniture})

    @cached_property
    def listing_hint(self) -> str | None:
        return _listing_hint(self.url)

    @cached_property
    def body(self) -> lxml_html.HtmlElement | None:
        # tree.find(".//body") without ElementPath's Python-level search
        return next(self.tree.iterdescendants("body"), None) if self.tree is not None else None

    @cached_property
    def body_classes(self) -> set[str]:
        return _names(self.body) if self.body is not None else set()

    @cached_property
    def shown(self) -> str:
        """The body's text a reader is shown, normalized for phrase search."""
        return _norm(_shown_text(self.body)) if self.body is not None else ""

    @cached_property
    def words(self) -> int:
        return _words(self.text)

    @property
    def chars(self) -> int:
        return len(self.text)

    @property
    def strong_article(self) -> bool:
        """The page's structured data names an article as what it is about."""
        return self.data.is_article

    @property
    def says_article(self) -> bool:
        return self.strong_article or self.og_type == "article"


# --- rules ------------------------------------------------------------------------

def _unreadable(page: Page) -> PageVerdict | None:
    kind = _decoded_binary_kind(page.html)
    if kind is not None:
        return binary_verdict(kind)
    if page.tree is None and page.chars < page.min_chars:
        if not page.html.strip():
            return PageVerdict("empty", "no_text", "empty body")
        return PageVerdict("failed", "unparseable", f"HTML could not be parsed ({len(page.html):,} characters)")
    return None


def _locked_part(page: Page) -> str | None:
    """'present', 'empty' or 'missing': the part JSON-LD says is paywalled;
    None when the page names no part this reader can find."""
    if page.tree is None or not page.data.locked_selectors:
        return None
    paths = [_selector_xpath(s) for selector in page.data.locked_selectors for s in selector.split(",")]
    if any(path is None for path in paths):
        return None
    found = [el for path in paths for el in page.tree.xpath(path)]
    if not found:
        return "missing"
    chars = sum(len(_visible_text(el).strip()) for el in found)
    return "present" if chars >= _LOCKED_PRESENT_CHARS else "empty"


def _gate_boxes(page: Page) -> list[str]:
    """Texts of the paywall containers shown in the page (subscription offers)."""
    if page.tree is None or not _PAYWALL_NAMES.search("\n".join(_GATE_NAMES(page.tree)).lower()):
        return []
    boxes = (el for el in page.tree.iter("div", "section", "aside")
             if _PAYWALL_NAMES.search(f"{el.get('class', '')} {el.get('id', '')}".lower()))
    return [text for text in (_shown_text(box).strip() for box in boxes) if len(text) >= _GATE_MIN_CHARS]


def _story_paragraphs(page: Page, boxes: list[str], marker: str | None) -> int:
    """Paragraphs of the text that are neither the subscription box nor its call to subscribe."""
    lines = [line for line in page.text.splitlines() if not (marker and marker in _norm(line))]
    return text_shape("\n".join(lines), [], boxes).prose_lines


def _gated(page: Page, declared: bool, locked: str | None, marker: str | None, boxes: list[str]) -> bool:
    """Whether the reader of this copy is stopped after a teaser."""
    if declared and locked in ("missing", "empty"):
        return True  # the page itself says its locked part is not in this copy
    # two independent signs, never one: a flag alone is set on free-to-crawl stories too
    if not ((declared and (marker or boxes)) or (marker and boxes)):
        return False
    return _story_paragraphs(page, boxes, marker) <= _TEASER_MAX_PARAGRAPHS


def _paywalled_teaser(page: Page) -> PageVerdict | None:
    if page.chars >= _TEASER_MAX_CHARS:
        return None
    locked = _locked_part(page)
    if locked == "present":
        return None
    declared = page.data.free is False
    boxes = _gate_boxes(page)
    # _gated fires on the flag with a locked part missing or empty, or on two
    # of flag, phrase and box with a phrase or a box among them: without the
    # flag and without a box, a phrase alone cannot make it fire, so the
    # phrase search (the body's whole shown text, normalized) is skipped.
    if not declared and not boxes:
        return None
    marker = next((m for m in _PAYWALL_GATES if m in page.shown), None)
    if not _gated(page, declared, locked, marker, boxes):
        return None
    evidence = [f"{page.chars} characters of text"]
    if declared:
        evidence.append("JSON-LD isAccessibleForFree false")
    if locked:
        evidence.append(f"paywalled part {', '.join(page.data.locked_selectors)} {locked}")
    if marker:
        evidence.append(f"page says {marker!r}")
    elif boxes:
        evidence.append("paywall box in the page")
    return PageVerdict("not_article", "paywalled_teaser", "paywalled teaser: " + ", ".join(evidence))


# Prose beyond this under a player is a story with a video, not a video page.
_VIDEO_MAX_PROSE_WORDS = 80


def _video(page: Page) -> PageVerdict | None:
    declared_by = "og:type " + page.og_type if page.og_type.startswith("video") else (
        "JSON-LD VideoObject" if "videoobject" in page.data.main_types else None)
    if declared_by is None or page.strong_article:
        return None
    player = _PLAYER.search(page.html) is not None or bool(
        page.tree is not None and _OG_VIDEO(page.tree))
    prose = page.shape.prose_words
    if not player or prose > _VIDEO_MAX_PROSE_WORDS:
        return None
    return PageVerdict("not_article", "video", f"video page: {declared_by}, a player and {prose} words of prose")


# Prose beyond this around the photos is a story told with photos.
_GALLERY_MAX_PROSE_WORDS = 40
# Without markup saying "gallery", only a page made of many captioned photos is one.
_GALLERY_MIN_CAPTIONS = 8


def _gallery(page: Page) -> PageVerdict | None:
    if page.strong_article:
        return None
    declared = bool(page.data.main_types & _GALLERY_TYPES) or "gallery" in page.og_type or "album" in page.og_type
    if not declared and page.og_type == "article":
        return None
    captions = [unescape(_TAGS.sub(" ", c)) for c in _FIGCAPTION.findall(page.html)]
    images = len(_IMAGE.findall(page.html))
    if not declared and (len(captions) < _GALLERY_MIN_CAPTIONS or images < _GALLERY_MIN_CAPTIONS):
        return None
    prose = text_shape(page.text, page.links, captions).prose_words
    if prose > _GALLERY_MAX_PROSE_WORDS:
        return None
    said = "JSON-LD " + "/".join(sorted(page.data.main_types & _GALLERY_TYPES)) if declared else "markup"
    return PageVerdict("not_article", "gallery",
                       f"photo gallery: {said}, {images} images, {len(captions)} captions and {prose} words of prose")


# A content area linking to this many headlines is a listing whatever else it says.
_LISTING_MANY_TEASERS = 8
_LISTING_MIN_TEASERS = 3
# Listing pages' own prose is a heading and a one-line description.
_LISTING_MAX_PROSE_WORDS = 30
_LISTING_MAX_PROSE_WORDS_ARTICLE_LD = 12
_LISTING_MIN_CARD_SHARE = 0.5


def _listing_signals(page: Page) -> list[str]:
    signals = []
    if page.listing_hint:
        signals.append(f"{page.listing_hint} URL")
    if page.og_type == "website":
        signals.append("og:type website")
    listing_types = page.data.main_types & _LISTING_TYPES
    if listing_types:
        signals.append("JSON-LD " + "/".join(sorted(listing_types)))
    if page.body_classes & _LISTING_BODY_CLASSES:
        signals.append("archive markup")
    # A page calling itself an article needs more than links to be a listing:
    # stories carry related and most-read lists. (says_article first: it is
    # cheap, and counting the teasers walks every link of the page.)
    if not page.says_article and page.main_teasers >= _LISTING_MANY_TEASERS:
        signals.append("many article links")
    return signals


def _listing(page: Page) -> PageVerdict | None:
    signals = _listing_signals(page)
    # the more the page itself says "listing", the fewer cards it takes (a new section has one story)
    minimum = max(1, _LISTING_MIN_TEASERS - len(signals))
    if not signals or page.main_teasers < minimum:
        return None
    shape = page.shape
    max_prose = _LISTING_MAX_PROSE_WORDS_ARTICLE_LD if page.strong_article else _LISTING_MAX_PROSE_WORDS
    if shape.prose_words > max_prose:
        return None
    if shape.card_share < _LISTING_MIN_CARD_SHARE and page.chars >= page.min_chars:
        return None
    kind = "tag_page" if page.listing_hint == "tag" or "tag" in page.body_classes else "section_index"
    what = "tag page" if kind == "tag_page" else "home page" if page.listing_hint == "home" else "section index"
    return PageVerdict(
        "not_article", kind,
        f"{what}: {page.main_teasers} links to articles, {shape.card_share:.0%} of the text from their cards and "
        f"{shape.prose_words} words of prose outside them ({', '.join(signals)})",
    )


def _shell_signals(page: Page) -> list[str]:
    """Signs that a script, not the HTML, was to write the page."""
    tree = page.tree
    if tree is None:
        return []
    signals = []
    mounts = [el for el in tree.iter() if isinstance(el.tag, str) and (
        el.get("id", "").lower() in _MOUNT_IDS or el.tag == "app-root" or el.get("data-reactroot") is not None)]
    if any(len(_visible_text(el).strip()) < _EMPTY_MOUNT_CHARS for el in mounts):
        signals.append("empty app mount point")
    if any(_JS_MESSAGE.search(el.text_content() or "") for el in tree.iter("noscript")):
        signals.append("<noscript> asks for JavaScript")
    return signals


def _js_shell(page: Page) -> PageVerdict | None:
    if page.chars >= page.min_chars or page.data.article_body_chars >= page.min_chars:
        return None
    signals = _shell_signals(page)
    if not signals:
        return None  # script tags alone are on every page
    bundles = len(_SCRIPT_BUNDLES(page.tree)) if page.tree is not None else 0
    if bundles >= _BUNDLE_MIN_SCRIPTS:
        signals.append(f"{bundles} script bundles")
    detail = f"JavaScript-only shell: {page.chars} characters of text, {', '.join(signals)}"
    return PageVerdict("empty", "js_shell", detail)


def _no_text(page: Page) -> PageVerdict | None:
    if page.chars >= page.min_chars:
        return None
    return PageVerdict("empty", "no_text", f"{page.chars} characters of text (minimum {page.min_chars})")


_RULES = (_unreadable, _paywalled_teaser, _video, _gallery, _listing, _js_shell, _no_text)


def classify_page(
    tree: lxml_html.HtmlElement | None, html: str, url: str, text: str, *, min_chars: int,
    describe_article: bool = True,
) -> PageVerdict:
    """``tree``: the parsed page as ingest.html_prep.parse returns it (the
    page AFTER ingest.html_prep.prepare ran on it; None when unparseable);
    ``text``: the body trafilatura extracted (furniture already removed).
    Returns article unless the evidence says otherwise; its detail is plain
    "article" without ``describe_article`` (counting the words costs time a
    caller that only wants the other verdicts' evidence can spare)."""
    page = Page(tree, html, url, text, min_chars)
    for rule in _RULES:
        verdict = rule(page)
        if verdict is not None:
            return verdict
    if not describe_article:
        return PageVerdict("article", "article", "article")
    said = "JSON-LD " + "/".join(sorted(page.data.main_types & _ARTICLE_TYPES)) if page.strong_article else (
        "og:type article" if page.og_type == "article" else "no page type")
    # page.words is page.shape.words without the headline cards shape needs
    return PageVerdict("article", "article", f"article: {page.words} words of text ({said})")
