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


def _own_cells(table: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """The cells of ``table`` itself, not of tables nested in it."""
    return [cell for cell in table.iter("td", "th") if next(cell.iterancestors("table"), None) is table]


def _link_text_share(cell: lxml_html.HtmlElement) -> float:
    text = len(cell.text_content().strip())
    links = sum(len(a.text_content().strip()) for a in cell.iter("a"))
    return links / text if text else 0.0


def is_layout_table(table: lxml_html.HtmlElement) -> bool:
    """Layout, not data: a cell holds paragraphs, a heading, another table,
    an image or long text; or every cell is a link (a "most read" list laid
    out as a table, which trafilatura then recognises as link furniture)."""
    cells = _own_cells(table)
    for cell in cells:
        if any(cell.find(f".//{tag}") is not None for tag in ("p", "table", "h1", "h2", "img")):
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


def prepare(html: str) -> lxml_html.HtmlElement | str:
    """The page as trafilatura should get it: a tree when something was
    changed, else the text as it was (the cheap path for most pages)."""
    html = protect_zwnj(html)
    if "<table" not in html and "<TABLE" not in html:
        return html
    try:
        tree = lxml_html.document_fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        return html
    return tree if unwrap_layout_tables(tree) else html
