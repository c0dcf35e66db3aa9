import pytest

from ingest.content_types import is_html_type, media_type


@pytest.mark.parametrize(
    ("header", "expected"),
    [("text/html; charset=windows-1256", "text/html"), ("Application/XHTML+XML", "application/xhtml+xml"),
     ("", None), (None, None), (" ; charset=utf-8", None)],
)
def test_media_type_drops_parameters_and_case(header, expected):
    assert media_type(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [("text/html", True), ("application/xhtml+xml; charset=utf-8", True), ("application/pdf", False),
     ("image/png", False), (None, None), ("", None)],
)
def test_html_by_declared_type_and_undecided_without_one(header, expected):
    assert is_html_type(header) is expected
