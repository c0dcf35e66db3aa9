"""What the HTML needs before trafilatura sees it, and the text after.

- Old CMSs lay whole pages out with tables. trafilatura reads a table as
  data and flattens it into "| menu | article | sidebar |" rows, mixing the
  menu, the breadcrumb and the article into one line. A table that holds
  paragraphs, nested tables or long text is layout, not data: it becomes
  plain blocks. Real data tables (short cells) stay tables.
- trafilatura drops the zero-width non-joiner (U+200C) as an invisible
  character, which glues Persian words together (می‌یابد -> مییابد). It is
  swapped for the combining grapheme joiner (U+034F), which trafilatura
  keeps and which news text does not use, and swapped back afterwards.
"""
from __future__ import annotations

import re
import threading
from typing import NamedTuple

from lxml import etree
from lxml import html as lxml_html

ZWNJ = "\u200c"
_STAND_IN = "\u034f"

_TABLE_PARTS = {"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption"}
# a cell holding this much text is an article column, not a data cell
_LONG_CELL_CHARS = 200


def protect_zwnj(html: str) -> str:
    return html.replace(ZWNJ, _STAND_IN)


def restore_zwnj(text: str) -> str:
    return text.replace(_STAND_IN, ZWNJ)


def _first(element: lxml_html.HtmlElement, tag: str) -> lxml_html.HtmlElement | None:
    """The first element named ``tag`` inside ``element``: find(".//tag")
    without ElementPath's Python-level search."""
    return next(element.iterdescendants(tag), None)


def _own_cells(table: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """The cells of ``table`` itself, not of tables nested in it."""
    return [cell for cell in table.iter("td", "th") if next(cell.iterancestors("table"), None) is table]


def _letters(text: str) -> int:
    # separators between menu links ("news | economy | sport") are not text
    return sum(1 for ch in text if ch.isalnum())


def _link_text_share(cell: lxml_html.HtmlElement) -> float:
    text = _letters(cell.text_content())
    links = sum(_letters(a.text_content()) for a in cell.iter("a"))
    return links / text if text else 0.0


def is_layout_table(table: lxml_html.HtmlElement) -> bool:
    """Layout, not data: a cell holds paragraphs, a heading, another table,
    an image or long text; or every cell is a link (a "most read" list laid
    out as a table, which trafilatura then recognises as link furniture)."""
    cells = _own_cells(table)
    for cell in cells:
        if any(_first(cell, tag) is not None for tag in ("p", "table", "h1", "h2", "img")):
            return True
        if len(cell.text_content().strip()) > _LONG_CELL_CHARS:
            return True
    return bool(cells) and all(_link_text_share(cell) > 0.8 for cell in cells)


def unwrap_layout_tables(tree: lxml_html.HtmlElement) -> int:
    """Turn every layout table of ``tree`` (and its rows and cells) into
    ``div`` blocks in place; return how many tables were unwrapped."""
    layout = [t for t in tree.iter("table") if is_layout_table(t)]
    # Which parts belong to which table is read before any tag changes.
    parts = [
        part
        for table in layout
        for part in table.iter(*_TABLE_PARTS)
        if part is table or next(part.iterancestors("table"), None) is table
    ]
    for part in parts:
        part.tag = "div"
        for attr in ("width", "colspan", "rowspan", "cellpadding", "cellspacing", "valign", "align", "border"):
            part.attrib.pop(attr, None)
    return len(layout)


# A gallery is the photos' captions; one captioned photo in a story is furniture.
_GALLERY_MIN_FIGURES = 3
_CLOCK = re.compile(r"^\s*[0-9\u0660-\u0669\u06F0-\u06F9]{1,2}[:.][0-9\u0660-\u0669\u06F0-\u06F9]{2}\s*$")
# A live blog is a run of entries each stamped with a clock time.
_LIVE_MIN_ENTRIES = 3


def _as_paragraph(element: lxml_html.HtmlElement, text: str) -> None:
    """Replace ``element`` by a paragraph holding ``text`` (its tail kept)."""
    paragraph = lxml_html.Element("p")
    paragraph.text = text
    paragraph.tail = element.tail
    element.getparent().replace(element, paragraph)


def gallery_captions_as_text(tree: lxml_html.HtmlElement) -> int:
    """In a photo gallery (several captioned figures side by side) the
    captions tell the story: each figure becomes a paragraph of its caption
    (credits and "1 / 4" counters left out). Returns the figures changed."""
    changed = 0
    parents = {figure.getparent() for figure in tree.iter("figure") if _first(figure, "figcaption") is not None}
    for parent in parents:
        if parent is None:
            continue
        figures = [f for f in parent if f.tag == "figure" and _first(f, "figcaption") is not None]
        if len(figures) < _GALLERY_MIN_FIGURES:
            continue
        for figure in figures:
            caption = _first(figure, "figcaption").text_content().strip()
            _as_paragraph(figure, caption)
            changed += 1
    return changed


def live_times_as_text(tree: lxml_html.HtmlElement) -> int:
    """In a live blog each entry's clock time is part of the text (when it
    happened); trafilatura drops <time> elements. Returns the times kept."""
    stamps = [t for t in tree.iter("time") if _CLOCK.match(t.text_content() or "")]
    if len(stamps) < _LIVE_MIN_ENTRIES:
        return 0
    for stamp in stamps:
        holder = stamp.getparent()
        # an entry header holding only the time becomes the time's paragraph
        target = holder if holder is not None and holder.tag == "header" and len(holder) == 1 else stamp
        _as_paragraph(target, stamp.text_content().strip())
    return len(stamps)


# Class and id words that mark an advertisement block; whole words only, so
# "header", "shadow" or "download" never match.
_AD_WORDS = {"ad", "ads", "adv", "advert", "adverts", "advertisement", "advertising", "sponsor", "sponsored",
             "promo", "promotion", "banner", "dfp", "gpt-ad"}
_WORD_SPLIT = re.compile(r"[\s_-]+")
# An advertisement is a small block; a container this large is the page
# itself, whatever its class says ("article ad-free").
_AD_MAX_CHARS = 400


class _Named:
    """Elements of some tags whose class or id contains one of a few
    fragments, in document order: a cheap first cut (a regex over the two
    attributes, lowered) before the exact test of each candidate. The exact
    tests read the lowered names too and each of their words holds a
    fragment, so the cut never leaves out an element they would take.
    (Lowering first and searching case-sensitively is faster than an
    IGNORECASE search.)"""

    def __init__(self, tags: tuple[str, ...], fragments: tuple[str, ...]) -> None:
        self.tags = tags
        self.pattern = re.compile("|".join(re.escape(f) for f in fragments))

    def __call__(self, tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
        search = self.pattern.search
        found = []
        for el in tree.iter(self.tags):
            cls, ident = el.get("class"), el.get("id")
            if (cls and search(cls.lower())) or (ident and search(ident.lower())):
                found.append(el)
        return found


_AD_CANDIDATES = _Named(("div", "aside", "section", "span", "p", "ins"), ("ad", "sponsor", "promo", "banner", "dfp"))


def _is_ad_block(element: lxml_html.HtmlElement) -> bool:
    names = f"{element.get('class', '')} {element.get('id', '')}".lower()
    if not names.strip() or not (set(_WORD_SPLIT.split(names)) & _AD_WORDS):
        return False
    return len(element.text_content()) <= _AD_MAX_CHARS and _first(element, "h1") is None


def remove_ad_blocks(tree: lxml_html.HtmlElement) -> int:
    """Drop advertisement blocks (their label and their sales sentence):
    trafilatura keeps an ad's text when it sits among the article's blocks."""
    outermost: list[lxml_html.HtmlElement] = []
    chosen: set[lxml_html.HtmlElement] = set()
    # In document order an ad comes before the blocks inside it: one inside
    # an ad already taken goes with it, untested.
    for candidate in _AD_CANDIDATES(tree):
        inside_an_ad = bool(chosen) and any(parent in chosen for parent in candidate.iterancestors())
        if not inside_an_ad and _is_ad_block(candidate):
            chosen.add(candidate)
            outermost.append(candidate)
    for ad in outermost:
        ad.drop_tree()
    return len(outermost)


# A kicker (eyebrow, surtitle) is the section label printed above a
# headline: "بنوك", "Economy". Recognised by the names sites give it; kept
# short so that a container carrying such a class is never taken for one.
_KICKER_WORDS = {"kicker", "eyebrow", "overline", "supertitle", "surtitle", "rubric"}
_KICKER_CLASSES = {"section-name", "section-label", "category-name", "category-label", "cat-label", "post-category",
                   "article-category", "article-section"}
_KICKER_MAX_WORDS = 4


_KICKER_CANDIDATES = _Named(
    ("p", "div", "span", "a", "h2", "h3", "h4", "h5", "h6", "strong"),
    ("kicker", "eyebrow", "overline", "supertitle", "surtitle", "rubric", "section", "categor", "cat-label"),
)


def _is_kicker(element: lxml_html.HtmlElement) -> bool:
    names = f"{element.get('class', '')} {element.get('id', '')}".lower()
    if not names.strip():
        return False
    tokens = set(names.split())
    words = set(_WORD_SPLIT.split(names))
    if not (tokens & _KICKER_CLASSES or words & _KICKER_WORDS):
        return False
    text = element.text_content().split()
    return 0 < len(text) <= _KICKER_MAX_WORDS and _first(element, "h1") is None and _first(element, "p") is None


def take_kickers(tree: lxml_html.HtmlElement) -> list[str]:
    """Remove the section labels above headlines and return their texts
    (the page's section, when its metadata names none)."""
    kickers = [el for el in _KICKER_CANDIDATES(tree) if _is_kicker(el)]
    chosen = set(kickers)
    texts = []
    for el in kickers:
        if any(parent in chosen for parent in el.iterancestors()):
            continue
        texts.append(" ".join(el.text_content().split()))
        el.drop_tree()
    return texts


def _html_parser() -> etree.HTMLParser:
    """lxml.html's parser with its element classes chosen in C.

    lxml.html picks each element's class (HtmlElement, FormElement ...) in a
    Python callback, run every time Python touches an element it has not
    touched yet: hundreds of times a page in the preparation, the date and
    metadata readers and trafilatura (which works on a copy that keeps this
    parser). The same classes from lxml's C lookups save about 3% of the
    whole extraction (rasd bench-extract). The parser writes tag names in
    lower case, as the table of form controls has them."""
    classes = etree.ElementDefaultClassLookup(
        element=lxml_html.HtmlElement, comment=lxml_html.HtmlComment,
        pi=lxml_html.HtmlProcessingInstruction, entity=lxml_html.HtmlEntity,
    )
    lookup = etree.ElementNamespaceClassLookup(fallback=classes)
    # the form controls' own classes, by tag (HTML elements have no namespace)
    lookup.get_namespace(None).update(lxml_html.HtmlElementClassLookup._default_element_classes)
    parser = etree.HTMLParser()
    parser.set_element_class_lookup(lookup)
    return parser


_PARSER = _html_parser()


# libxml2 checks each attribute of a tag against every one before it: 5,000
# attributes on one tag cost 0.15 s, 20,000 cost 2.5 s, and the 800,000 that
# fit in a page of 8 MB would hold a worker for hours. Real tags have a few.
MAX_TAG_ATTRIBUTES = 1_000
# a tag long enough to hold that many (two characters each at the least);
# scanning for one costs a few milliseconds per megabyte of page
_LONG_TAG = re.compile(r"<[a-zA-Z][^>]{%d}[^>]*" % (2 * MAX_TAG_ATTRIBUTES))
# an attribute as HTML's tokenizer sees it (names end at a space, "/", "="
# or ">"; a quote or "=" may start one); values in quotes are skipped whole,
# so an inline SVG path or a long alt text counts once. A tag whose quoted
# values hold ">" escapes the scan above: a known gap.
_ATTRIBUTE = re.compile(r"""[\s/]+[^\s/>][^\s/>=]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?""")


def crowded_tag(html: str) -> int | None:
    """How many attributes the first tag with more than MAX_TAG_ATTRIBUTES
    has (None: no tag has that many): such a page must not be parsed."""
    for tag in _LONG_TAG.finditer(html):
        attributes = len(_ATTRIBUTE.findall(tag.group()))
        if attributes > MAX_TAG_ATTRIBUTES:
            return attributes
    return None


# The parser's error log is that of its last run, whichever thread ran it.
_PARSE_LOCK = threading.Lock()


class ParsedPage(NamedTuple):
    tree: lxml_html.HtmlElement | None
    cut_short: str | None
    """Why the parser stopped before the end of the page (None: it read it all)."""


def parse_page(html: str) -> ParsedPage:
    """The page parsed once (zero-width non-joiners protected), for the
    date reader, the preparation and trafilatura; tree None when unparsable.

    libxml2 stops reading at its resource limits (elements nested 256 deep,
    a text node or attribute of 10 MB) and returns what it read so far. The
    limits stay: lifting them (its "huge" mode) lets a hostile page make
    the C code recurse as deep as the page nests. NUL characters go first:
    browsers drop them from a page's text, libxml2 would make each one a
    replacement character."""
    with _PARSE_LOCK:
        try:
            tree = lxml_html.document_fromstring(protect_zwnj(html).replace("\x00", ""), parser=_PARSER)
        except (ValueError, lxml_html.etree.ParserError):
            return ParsedPage(None, None)
        # a resource limit halts the parser: it is the last error if any
        last = _PARSER.error_log.last_error
    cut_short = last.message if last is not None and last.type_name == "ERR_RESOURCE_LIMIT" else None
    return ParsedPage(tree, cut_short)


def parse(html: str) -> lxml_html.HtmlElement | None:
    """The tree of parse_page, for callers that need not know whether all the page was read."""
    return parse_page(html).tree


def prepare(tree: lxml_html.HtmlElement) -> int:
    """Change ``tree`` in place into what trafilatura should get; returns
    how many changes were made."""
    return remove_ad_blocks(tree) + unwrap_layout_tables(tree) + gallery_captions_as_text(tree) + live_times_as_text(tree)
