"""Faster, equivalent stand-ins for seven of trafilatura's XPath selectors.

Some of trafilatura's selectors test elements' classes and ids with EXSLT
regular expressions (``re:test``), which lxml runs as a Python callback from
libxml2 for every element tested. Seven of them run on every page and cost
a quarter of Rasd's extraction on the generated corpus (bare
``trafilatura.extract`` pays them too):

- ``BASIC_CLEAN_XPATH`` (asides, footers, scripts, styles, SVGs, templates,
  cookie banners): after every extraction shorter than 3,000 characters
  (most news articles) trafilatura measures the whole page's text with it
  to decide whether to retry in recall mode;
- ``RAW_TREE_PRUNE_XPATH`` (infinite-scroll containers of appended
  articles, share buttons) and ``REMOVE_COMMENTS_AND_LISTS_XPATH[0]``
  (comment sections), pruned from every raw page before extraction;
- ``BODY_XPATH[0]``, the first guess at the article's container;
- ``OVERALL_DISCARD_XPATH`` (navigation, share bars, ads, bylines, hidden
  blocks...), pruned from the content before its text is taken.

trafilatura offers no option to skip or change them, so ``install`` puts in
their place functions that select the same elements, in the same (document)
order, in one Python pass over the tree. Each stand-in knows the shape of
the expression it replaces, with its regular expressions left as blanks:
they are read from trafilatura's own expression, so a new token in one of
its lists is followed; an expression of another shape (an upgrade that
changed it) keeps trafilatura's XPath, with a warning. Tests check that
each stand-in selects what trafilatura's XPath selects on the evaluation
set, the generated corpus, the bad-input pages and hand-made edge cases.
``as_shipped`` gives the released library back for a while: the
benchmarks time bare trafilatura as released.
"""
from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from lxml.etree import _Element

log = structlog.get_logger(__name__)

Selector = Callable[[_Element], list[_Element]]


def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re:test(value, pattern[, 'i'])`` as lxml runs it:
    ``re.compile(pattern, re.UNICODE [| re.IGNORECASE]).search(value)``."""
    return re.compile(pattern, re.UNICODE | flags)


def _matches_empty(*patterns: re.Pattern[str]) -> bool:
    """Whether an element without the attributes can be selected (a missing
    attribute's value is ''): only then is it worth testing."""
    return any(p.search("") is not None for p in patterns)


def _first_of(attrib: Any, first: str, second: str) -> str:
    """XPath's string value of ``@first|@second``: the value of whichever of
    the two comes first in the element's own attribute order (libxml2's
    document order for attributes), '' if neither is there."""
    for name, value in attrib.items():
        if name == first or name == second:
            return str(value)
    return ""


def _descendants(tree: _Element, *tags: str) -> Iterator[_Element]:
    """``.//*`` (or ``.//tag``): elements below ``tree``, not ``tree``
    itself, in document order; comments and processing instructions are
    not elements."""
    for element in tree.iter(*tags):
        if element is not tree and isinstance(element.tag, str):
            yield element


# -- trafilatura.settings.BASIC_CLEAN_XPATH ---------------------------------

BASIC_CLEAN_SHAPE = (
    ".//aside|.//div[contains(@class|@id, 'footer')]|.//fencedframe|.//footer|.//script|.//style|.//svg|.//template"
    "|.//*[re:test(@class, '{}', 'i') or re:test(@id, '{}', 'i')]"
)
_BASIC_CLEAN_TAGS = frozenset({"aside", "fencedframe", "footer", "script", "style", "svg", "template"})


def basic_clean(class_pattern: str, id_pattern: str) -> Selector:
    cookie_class, cookie_id = _rx(class_pattern, re.IGNORECASE), _rx(id_pattern, re.IGNORECASE)
    bare_elements_match = _matches_empty(cookie_class, cookie_id)

    def select(tree: _Element) -> list[_Element]:
        selected: list[_Element] = []
        for element in _descendants(tree):
            if element.tag in _BASIC_CLEAN_TAGS:
                selected.append(element)
                continue
            attrib = element.attrib
            if not attrib and not bare_elements_match:
                continue
            if element.tag == "div" and "footer" in _first_of(attrib, "class", "id"):
                selected.append(element)
            elif cookie_class.search(attrib.get("class", "")) or cookie_id.search(attrib.get("id", "")):
                selected.append(element)
        return selected

    return select


# -- trafilatura.xpaths.RAW_TREE_PRUNE_XPATH[0] ------------------------------

INFINITE_SCROLL_SHAPE = """
        .//*[self::div or self::section or self::aside][
        re:test(@id, '{}') or
        re:test(@class, '{}')][
        not(.//h1) or re:test(@id, '{}') or re:test(@class, '{}')]
        """


def infinite_scroll(id_pattern: str, class_pattern: str, theme_id: str, theme_class: str) -> Selector:
    appended_id, appended_class = _rx(id_pattern), _rx(class_pattern)
    box_id, box_class = _rx(theme_id), _rx(theme_class)

    def select(tree: _Element) -> list[_Element]:
        selected: list[_Element] = []
        for element in _descendants(tree, "div", "section", "aside"):
            ident, css_class = element.get("id", ""), element.get("class", "")
            if not (appended_id.search(ident) or appended_class.search(css_class)):
                continue
            if element.find(".//h1") is None or box_id.search(ident) or box_class.search(css_class):
                selected.append(element)
        return selected

    return select


# -- trafilatura.xpaths.RAW_TREE_PRUNE_XPATH[1] ------------------------------

SHARE_BUTTONS_SHAPE = ".//*[self::div or self::section or self::aside][contains(@class, '{}')]"


def share_buttons(token: str) -> Selector:
    def select(tree: _Element) -> list[_Element]:
        return [element for element in _descendants(tree, "div", "section", "aside") if token in element.get("class", "")]

    return select


# -- trafilatura.xpaths.BODY_XPATH[0] -----------------------------------------

ARTICLE_BODY_SHAPE = """
        .//*[self::article or self::div or self::main or self::section][
        @class='post' or @class='entry' or
        @itemprop='articleBody' or @id='articleContent' or
        re:test(@id, '{}') or
        re:test(@class, '{}')
        ][1]
        """


def article_body(id_pattern: str, class_pattern: str) -> Selector:
    id_rx, class_rx = _rx(id_pattern), _rx(class_pattern)
    bare_elements_match = _matches_empty(id_rx, class_rx)

    def select(tree: _Element) -> list[_Element]:
        # "[1]" belongs to the step: of each parent's matching children, the
        # first; in document order a parent's first one comes first
        selected: list[_Element] = []
        # the parents themselves, not their id(): lxml keeps one proxy per
        # node only while it is referenced
        parents: set[_Element] = set()
        for element in _descendants(tree, "article", "div", "main", "section"):
            attrib = element.attrib
            if not attrib and not bare_elements_match:
                continue
            css_class, ident = attrib.get("class", ""), attrib.get("id", "")
            if (css_class == "post" or css_class == "entry" or attrib.get("itemprop") == "articleBody"
                    or ident == "articleContent" or id_rx.search(ident) or class_rx.search(css_class)):
                parent = element.getparent()
                if parent not in parents:
                    parents.add(parent)
                    selected.append(element)
        return selected

    return select


# -- trafilatura.xpaths.REMOVE_COMMENTS_AND_LISTS_XPATH[0] -------------------

COMMENTS_AND_LISTS_SHAPE = """
        .//*[self::div or self::list or self::section or self::details or self::ol or self::ul][
        re:test(@id, '{}') or
        re:test(@class, '{}')][
        not(self::ol or self::ul) or re:test(@id, '{}') or re:test(@class, '{}')]
        """


def comments_and_lists(id_pattern: str, class_pattern: str, list_id: str, list_class: str) -> Selector:
    comments_id, comments_class = _rx(id_pattern), _rx(class_pattern)
    list_comments_id, list_comments_class = _rx(list_id), _rx(list_class)

    def select(tree: _Element) -> list[_Element]:
        selected: list[_Element] = []
        for element in _descendants(tree, "div", "list", "section", "details", "ol", "ul"):
            ident, css_class = element.get("id", ""), element.get("class", "")
            if not (comments_id.search(ident) or comments_class.search(css_class)):
                continue
            if (element.tag not in ("ol", "ul") or list_comments_id.search(ident)
                    or list_comments_class.search(css_class)):
                selected.append(element)
        return selected

    return select


# -- trafilatura.xpaths.OVERALL_DISCARD_XPATH[0] and [1] ---------------------

OVERALL_DISCARD_SHAPE = """
        .//*[self::div or self::item or self::list or self::p or self::section or self::span][
        @data-lp-replacement-content or
        contains(translate(@role, 'N', 'n'), 'nav') or
        contains(@data-component, 'MostPopularStories') or
        re:test(@id|@class, '{}') or
        re:test(@id, '{}') or
        re:test(@class, '{}')]
        """


def overall_discard(first_pattern: str, id_pattern: str, class_pattern: str) -> Selector:
    first_rx, id_rx, class_rx = _rx(first_pattern), _rx(id_pattern), _rx(class_pattern)
    bare_elements_match = _matches_empty(first_rx, id_rx, class_rx)

    def select(tree: _Element) -> list[_Element]:
        selected: list[_Element] = []
        for element in _descendants(tree, "div", "item", "list", "p", "section", "span"):
            attrib = element.attrib
            if not attrib and not bare_elements_match:
                continue
            if ("data-lp-replacement-content" in attrib
                    or "nav" in attrib.get("role", "").replace("N", "n")
                    or "MostPopularStories" in attrib.get("data-component", "")
                    or first_rx.search(_first_of(attrib, "id", "class"))
                    or id_rx.search(attrib.get("id", ""))
                    or class_rx.search(attrib.get("class", ""))):
                selected.append(element)
        return selected

    return select


HIDDEN_SHAPE = """
        .//*[@class='comments-title' or
        starts-with(@id|@class, 'reply-') or
        re:test(@id|@style, '{}') or
        contains(@style, 'display:none') or contains(@style, 'display: none') or
        re:test(@id, '{}') or
        re:test(@class, '{}') or @aria-hidden='true']
        """


def hidden_and_replies(first_pattern: str, id_pattern: str, class_pattern: str) -> Selector:
    first_rx, id_rx, class_rx = _rx(first_pattern), _rx(id_pattern), _rx(class_pattern)
    bare_elements_match = _matches_empty(first_rx, id_rx, class_rx)

    def select(tree: _Element) -> list[_Element]:
        selected: list[_Element] = []
        for element in _descendants(tree):
            attrib = element.attrib
            if not attrib and not bare_elements_match:
                continue
            style = attrib.get("style", "")
            if (attrib.get("class") == "comments-title"
                    or _first_of(attrib, "id", "class").startswith("reply-")
                    or first_rx.search(_first_of(attrib, "id", "style"))
                    or "display:none" in style or "display: none" in style
                    or id_rx.search(attrib.get("id", ""))
                    or class_rx.search(attrib.get("class", ""))
                    or attrib.get("aria-hidden") == "true"):
                selected.append(element)
        return selected

    return select


# -- swapping ------------------------------------------------------------------


def patterns_in(shape: str, path: str) -> list[str] | None:
    """The regular expressions filling the blanks (``{}``) of ``shape`` in
    the XPath ``path``, None when ``path`` has another shape. An XPath
    string literal cannot hold its own quote, so a blank is what stands
    between two single quotes."""
    pieces = shape.split("{}")
    pattern = "([^']*)".join(map(re.escape, pieces))
    match = re.fullmatch(pattern, path)
    return list(match.groups()) if match is not None else None


@dataclass(frozen=True)
class Swap:
    """One selector: where trafilatura keeps it (``index`` into a list, or
    None for a plain name), the shape of its expression, and what makes
    the stand-in from the regular expressions read from it."""

    module: Any
    name: str
    index: int | None
    shape: str
    build: Callable[..., Selector]

    def get(self) -> Any:
        value = getattr(self.module, self.name)
        return value if self.index is None else value[self.index]

    def put(self, selector: Any) -> None:
        if self.index is None:
            setattr(self.module, self.name, selector)
        else:
            # a new list: trafilatura's own stays as released
            value = list(getattr(self.module, self.name))
            value[self.index] = selector
            setattr(self.module, self.name, value)

    @property
    def label(self) -> str:
        return self.name if self.index is None else f"{self.name}[{self.index}]"


# by name: the package exports a function called ``baseline`` over the module's name
BASELINE_MODULE = importlib.import_module("trafilatura.baseline")
CORE_MODULE = importlib.import_module("trafilatura.core")
MAIN_EXTRACTOR_MODULE = importlib.import_module("trafilatura.main_extractor")

SWAPS: Sequence[Swap] = (
    Swap(BASELINE_MODULE, "BASIC_CLEAN_XPATH", None, BASIC_CLEAN_SHAPE, basic_clean),
    Swap(CORE_MODULE, "RAW_TREE_PRUNE_XPATH", 0, INFINITE_SCROLL_SHAPE, infinite_scroll),
    Swap(CORE_MODULE, "RAW_TREE_PRUNE_XPATH", 1, SHARE_BUTTONS_SHAPE, share_buttons),
    Swap(CORE_MODULE, "REMOVE_COMMENTS_AND_LISTS_XPATH", 0, COMMENTS_AND_LISTS_SHAPE, comments_and_lists),
    Swap(MAIN_EXTRACTOR_MODULE, "BODY_XPATH", 0, ARTICLE_BODY_SHAPE, article_body),
    Swap(MAIN_EXTRACTOR_MODULE, "OVERALL_DISCARD_XPATH", 0, OVERALL_DISCARD_SHAPE, overall_discard),
    Swap(MAIN_EXTRACTOR_MODULE, "OVERALL_DISCARD_XPATH", 1, HIDDEN_SHAPE, hidden_and_replies),
)
# trafilatura's selectors as released, read before any swap
RELEASED: dict[Swap, Any] = {swap: swap.get() for swap in SWAPS}


def stand_in(swap: Swap, released: Any) -> Selector | None:
    """The stand-in for ``released`` (an XPath), None when its expression
    is not of the shape ``swap`` reproduces."""
    patterns = patterns_in(swap.shape, getattr(released, "path", ""))
    return swap.build(*patterns) if patterns is not None else None


STAND_INS: dict[Swap, Selector | None] = {swap: stand_in(swap, RELEASED[swap]) for swap in SWAPS}


def install() -> list[str]:
    """Swap the stand-ins in; the labels of the selectors left as released
    (their expression is not of the shape reproduced here)."""
    kept: list[str] = []
    for swap in SWAPS:
        selector = STAND_INS[swap]
        if selector is None:
            kept.append(swap.label)
            log.warning("trafilatura_selector_kept", selector=swap.label,
                        reason="its expression is not of the shape ingest.trafilatura_tuning reproduces")
            continue
        swap.put(selector)
    return kept


@contextmanager
def as_shipped() -> Iterator[None]:
    """trafilatura's selectors as released, for the duration."""
    current = {swap: swap.get() for swap in SWAPS}
    for swap in SWAPS:
        swap.put(RELEASED[swap])
    try:
        yield
    finally:
        for swap in SWAPS:
            swap.put(current[swap])
