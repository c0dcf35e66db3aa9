import pytest

from ingest.decoding import count_undecodable, decode_page
from ingest.extraction import extract_article
from tests.ingest.pages import PARAGRAPHS, article_html, fetched_page

PARAGRAPH = (
    "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في المدينة، يضم مئتي سرير وقسما خاصا لعلاج الأطفال، "
    "على أن يبدأ استقبال المرضى مطلع الشهر المقبل بعد اكتمال تجهيز غرف العمليات."
)


def page(meta_charset: str | None = None, text: str = PARAGRAPH) -> str:
    meta = f'<meta charset="{meta_charset}">' if meta_charset else ""
    return f'<!DOCTYPE html><html lang="ar" dir="rtl"><head>{meta}<title>مستشفى جديد</title></head><body><p>{text}</p></body></html>'


def test_http_charset_is_used_when_the_bytes_decode_under_it():
    decoded = decode_page(page().encode("cp1256"), "text/html; charset=windows-1256")
    assert (decoded.origin, decoded.encoding) == ("http", "cp1256")
    assert PARAGRAPH in decoded.text


def test_windows_1256_without_any_charset_is_detected():
    decoded = decode_page(page().encode("cp1256"), "text/html")
    assert decoded.origin == "detected"
    assert PARAGRAPH in decoded.text
    assert decoded.undecodable == 0


def test_valid_utf8_beats_a_meta_tag_naming_windows_1256():
    # The symptom: the meta tag was obeyed and the page came out as mojibake.
    decoded = decode_page(page(meta_charset="windows-1256").encode("utf-8"), None)
    assert (decoded.origin, decoded.encoding) == ("utf8", "utf-8")
    assert PARAGRAPH in decoded.text


def test_http_utf8_that_windows_1256_bytes_refute_falls_through_to_the_meta_tag():
    decoded = decode_page(page(meta_charset="windows-1256").encode("cp1256"), "text/html; charset=utf-8")
    assert (decoded.origin, decoded.encoding) == ("meta", "cp1256")
    assert PARAGRAPH in decoded.text
    assert "\ufffd" not in decoded.text
    [(origin, encoding, lost)] = decoded.rejected
    assert (origin, encoding) == ("http", "utf-8") and lost > 100


def test_http_utf8_that_windows_1256_bytes_refute_falls_through_to_detection_without_meta():
    decoded = decode_page(page().encode("cp1256"), "text/html; charset=UTF-8")
    assert decoded.origin == "detected"
    assert PARAGRAPH in decoded.text
    assert decoded.rejected[0][:2] == ("http", "utf-8")


def test_http_charset_naming_a_single_byte_encoding_loses_to_valid_utf8():
    # windows-1256 maps every byte, so only the UTF-8 check can refute it.
    decoded = decode_page(page().encode("utf-8"), "text/html; charset=windows-1256")
    assert decoded.origin == "utf8"
    assert PARAGRAPH in decoded.text


def test_iso_8859_6_from_the_meta_tag():
    decoded = decode_page(page(meta_charset="iso-8859-6").encode("iso-8859-6"), None)
    assert (decoded.origin, decoded.encoding) == ("meta", "iso8859-6")
    assert PARAGRAPH in decoded.text


def test_iso_8859_6_without_any_charset_is_detected():
    decoded = decode_page(page().encode("iso-8859-6"), None)
    assert decoded.origin == "detected"
    assert PARAGRAPH in decoded.text


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom_is_read_from_the_bom(codec):
    bom = "\ufeff".encode(codec)
    decoded = decode_page(bom + page(meta_charset="utf-16").encode(codec), "text/html")
    assert decoded.origin == "bom"
    assert decoded.text.startswith("<!DOCTYPE html>")
    assert PARAGRAPH in decoded.text


def test_utf16_bom_overrides_a_wrong_http_charset_that_cannot_decode_it():
    body = "\ufeff".encode("utf-16-le") + page().encode("utf-16-le")
    decoded = decode_page(body, "text/html; charset=utf-8")
    assert decoded.origin == "bom"
    assert PARAGRAPH in decoded.text


def test_utf8_bom_is_not_left_in_the_text():
    decoded = decode_page(b"\xef\xbb\xbf" + page().encode("utf-8"), "text/html; charset=utf-8")
    assert decoded.origin == "http"
    assert decoded.text.startswith("<!DOCTYPE html>")


def test_meta_tag_claiming_utf16_on_single_byte_bytes_is_ignored():
    decoded = decode_page(page(meta_charset="utf-16").encode("cp1256"), None)
    assert decoded.origin == "detected"
    assert PARAGRAPH in decoded.text


def test_unknown_http_charset_falls_through():
    decoded = decode_page(page().encode("utf-8"), "text/html; charset=x-no-such-charset")
    assert decoded.origin == "utf8"
    assert PARAGRAPH in decoded.text


def test_binary_body_is_decoded_leniently_with_the_lost_bytes_counted():
    body = bytes(range(256)) * 8  # every byte value 128-255 is invalid UTF-8 on its own
    decoded = decode_page(body, "text/html")
    assert (decoded.origin, decoded.encoding, decoded.undecodable) == ("detected", "utf-8", 1024)
    assert decoded.text.count("\ufffd") == 1024


def test_ascii_page_needs_no_declaration():
    decoded = decode_page(b"<html><body><p>plain news</p></body></html>", None)
    assert (decoded.origin, decoded.text) == ("utf8", "<html><body><p>plain news</p></body></html>")


@pytest.mark.parametrize(
    ("body", "encoding", "expected"),
    [(b"abc", "utf-8", 0), (b"abc\xff\xfe", "utf-8", 2), ("سلام".encode("cp1256") + b"ok", "utf-8", 4),
     ("سلام".encode("cp1256"), "cp1256", 0)],
)
def test_count_undecodable_counts_the_bytes_a_codec_rejects(body, encoding, expected):
    assert count_undecodable(body, encoding) == expected


def test_extract_article_is_not_mojibake_when_the_meta_tag_lies():
    html = article_html(charset="windows-1256").encode("utf-8")
    article = extract_article(fetched_page(html, content_type="text/html"), min_chars=100)
    assert article.body.split("\n") == PARAGRAPHS
