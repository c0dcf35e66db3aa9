"""The normalized copy of Arabic (and Persian) text kept beside the original.

It applies, character for character, the filters of the index's
``rasd_ar_norm`` analyzer (indexer.mapping.NORM_CHAIN) minus the filters for
Latin text (lowercasing, elision, possessives, ASCII folding): Lucene's ArabicNormalizer (alef forms, ى -> ي,
ة -> ه, tatweel and harakat removed), its PersianNormalizer (ی -> ي, ک -> ك,
ە/ۀ -> ه) and the decimal-digit filter (Arabic-Indic and Persian digits ->
ASCII). Duplicate detection and story clustering read this copy, so two
outlets spelling a word with and without hamza or diacritics still share
their shingles, exactly as the engine sees them.

Written here rather than taken from a library: the tables are Lucene's own
(a dozen code points), and a library with its own idea of normalization
(pyarabic strips more, e.g. hamza on waw) would disagree with the engine.
"""
from __future__ import annotations

# org.apache.lucene.analysis.ar.ArabicNormalizer
_ARABIC = {
    0x0622: 0x0627,  # alef madda -> alef
    0x0623: 0x0627,  # alef hamza above -> alef
    0x0625: 0x0627,  # alef hamza below -> alef
    0x0649: 0x064A,  # alef maksura (dotless yeh) -> yeh
    0x0629: 0x0647,  # teh marbuta -> heh
}
_ARABIC_REMOVED = (0x0640, 0x064B, 0x064C, 0x064D, 0x064E, 0x064F, 0x0650, 0x0651, 0x0652)  # tatweel, harakat
# org.apache.lucene.analysis.fa.PersianNormalizer
_PERSIAN = {
    0x06CC: 0x064A,  # farsi yeh -> yeh
    0x06A9: 0x0643,  # keheh -> kaf
    0x06D5: 0x0647,  # ae -> heh
    0x06C0: 0x0647,  # heh with yeh above -> heh
    0x06C1: 0x0647,  # heh goal -> heh
}
_PERSIAN_REMOVED = (0x0654,)  # hamza above

_TABLE: dict[int, int | None] = {**_ARABIC, **_PERSIAN}
_TABLE.update({cp: None for cp in _ARABIC_REMOVED + _PERSIAN_REMOVED})
# DecimalDigitFilter: every Unicode decimal digit of the Arabic scripts
_TABLE.update({0x0660 + d: 0x30 + d for d in range(10)})  # Arabic-Indic
_TABLE.update({0x06F0 + d: 0x30 + d for d in range(10)})  # Extended (Persian, Urdu)


# str.translate looks every character of non-ASCII text up in the dict, one
# Python call each; one str.replace per table entry the text holds (found by
# a scan in C) gives the same result for a fifteenth of the time. Same,
# because no replacement is itself replaced: no value is a key of the table.
_REPLACEMENTS = tuple((chr(cp), "" if to is None else chr(to)) for cp, to in _TABLE.items())


def normalize_arabic(text: str) -> str:
    """``text`` with Lucene's Arabic and Persian normalization and ASCII
    digits; same length or shorter, line breaks and Latin text untouched."""
    for old, new in _REPLACEMENTS:
        if old in text:
            text = text.replace(old, new)
    return text
