"""Page bytes -> text, so that a wrong charset declaration never garbles a page.

Sources are tried in this order, and a declaration is trusted only if the
bytes decode under it without a single error:

1. the HTTP ``Content-Type`` charset: the server's word, and what browsers obey;
2. a byte-order mark: unambiguous, and the only sign a UTF-16 page carries;
3. "the bytes are valid UTF-8": multi-byte UTF-8 is self-checking (legacy
   Arabic text in windows-1256 or ISO-8859-6 is practically never valid
   UTF-8), so this beats an in-page ``<meta>`` tag, which CMS templates copy
   from page to page long after the site moved to UTF-8 (the mojibake seen in
   issue 7). For the same reason it also beats an HTTP charset that names a
   single-byte encoding: such a charset "decodes" any bytes, so the error
   check alone cannot refute it;
4. the ``<meta charset>`` / ``http-equiv`` tag;
5. statistical detection (charset-normalizer).

A rejected declaration falls through to the next source instead of being
applied with replacement characters. Only when nothing decodes cleanly is the
detector's best guess (or UTF-8) applied leniently, and ``undecodable`` then
counts the bytes that were lost, so the caller can tell a damaged page from a
clean one.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Literal

import charset_normalizer
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

DecodingOrigin = Literal["http", "bom", "utf8", "meta", "detected"]

# Codecs whose every byte maps to a character: "decodes without errors" says
# nothing about them, so valid multi-byte UTF-8 overrides them (see docstring).
_UNICODE_CODECS = {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "utf-8-sig"}


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    origin: DecodingOrigin
    undecodable: int = 0
    """Bytes replaced by U+FFFD; 0 unless no source decoded the page cleanly."""
    rejected: tuple[tuple[str, str, int], ...] = ()
    """(origin, encoding, undecodable bytes) of each declaration that was refused."""


def _codec_name(encoding: str) -> str | None:
    """The codec's name, None for an unknown one or one that does not make
    text (``charset=base64``, ``zlib``, ``rot13``: Python has such codecs,
    a declaration naming one is as good as unknown)."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def count_undecodable(body: bytes, encoding: str) -> int:
    """How many bytes of ``body`` the codec cannot decode (0: a clean decode)."""
    try:
        body.decode(encoding)
        return 0
    except UnicodeError:
        pass
    try:
        # surrogateescape turns each undecodable byte into one lone surrogate
        # (which no decoder produces otherwise), so they can be counted.
        text = body.decode(encoding, errors="surrogateescape")
    except UnicodeError:
        return len(body)  # codecs such as UTF-16 cannot escape: count it all as lost
    return sum(1 for ch in text if "\udc80" <= ch <= "\udcff")


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        text = body.decode(encoding)
    except (UnicodeError, LookupError):  # UnicodeError: codecs such as idna refuse outright
        return None
    # A BOM under a matching declaration is not part of the text.
    return text[1:] if text.startswith("\ufeff") else text


def _utf8_with_non_ascii(body: bytes) -> str | None:
    if body.isascii():
        return None
    return _strict(body, "utf-8")


def _http_encoding(content_type: str | None) -> str | None:
    declared = http_content_type_encoding(content_type) if content_type else None
    return declared if declared is not None and _codec_name(declared) is not None else None


def _meta_encoding(body: bytes) -> str | None:
    declared = html_body_declared_encoding(body)
    if declared is None:
        return None
    name = _codec_name(declared)
    # A meta tag readable as ASCII cannot be describing a UTF-16/32 document
    # (browsers read such a tag as UTF-8 too).
    if name is None or name.startswith(("utf-16", "utf-32")):
        return None
    return declared


def _detect(body: bytes) -> tuple[str, str] | None:
    best = charset_normalizer.from_bytes(body).best()
    if best is None or best.encoding is None:
        return None
    return str(best), best.encoding


def decode_page(body: bytes, content_type: str | None) -> Decoded:
    """Decode an HTML response body: the first trustworthy source wins (see the module docstring)."""
    rejected: list[tuple[str, str, int]] = []

    def refuse(origin: str, encoding: str) -> None:
        rejected.append((origin, encoding, count_undecodable(body, encoding)))

    http = _http_encoding(content_type)
    if http is not None:
        text = _strict(body, http)
        codec = _codec_name(http)
        if text is not None and (codec in _UNICODE_CODECS or _utf8_with_non_ascii(body) is None):
            return Decoded(text, codec or http, "http", rejected=tuple(rejected))
        refuse("http", http)

    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None:
        text = _strict(body[len(bom or b""):], bom_encoding)
        if text is not None:
            return Decoded(text, _codec_name(bom_encoding) or bom_encoding, "bom", rejected=tuple(rejected))
        refuse("bom", bom_encoding)

    text = _strict(body, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8", "utf8", rejected=tuple(rejected))

    meta = _meta_encoding(body)
    if meta is not None:
        text = _strict(body, meta)
        if text is not None:
            return Decoded(text, _codec_name(meta) or meta, "meta", rejected=tuple(rejected))
        refuse("meta", meta)

    detected = _detect(body)
    if detected is not None:
        text, encoding = detected
        return Decoded(text, _codec_name(encoding) or encoding, "detected", rejected=tuple(rejected))

    # Nothing decodes cleanly (a damaged or binary body): keep what UTF-8 can
    # read and say how much was lost.
    lost = count_undecodable(body, "utf-8")
    return Decoded(body.decode("utf-8", errors="replace"), "utf-8", "detected", lost, tuple(rejected))
