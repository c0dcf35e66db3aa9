from datetime import datetime, timezone

from ingest.models import Article
from indexer.documents import MAX_ID_BYTES, id_problem, to_document
from indexer.mapping import article_properties


def _article() -> Article:
    return Article(
        id="a" * 32,
        url="https://example.org/a",
        fetched_url="https://example.org/a?utm_source=x",
        source="example",
        domain="example.org",
        title="عنوان",
        body="نص المقال",
        language="ar",
        published_at=datetime(2024, 5, 1, 8, 30, tzinfo=timezone.utc),
        fetched_at=datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc),
        extracted_at=datetime(2024, 5, 1, 9, 0, 1, tzinfo=timezone.utc),
    )


def test_document_carries_every_article_field_and_indexed_at_but_not_the_envelope():
    indexed_at = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    doc = to_document(_article(), indexed_at)
    assert doc["indexed_at"] == "2024-05-01T10:00:00+00:00"
    assert doc["id"] == "a" * 32
    assert doc["published_at"].startswith("2024-05-01T08:30:00")
    assert "schema_name" not in doc and "schema_version" not in doc


def test_every_document_field_is_mapped():
    doc = to_document(_article(), datetime.now(timezone.utc))
    assert set(doc) <= set(article_properties()), set(doc) - set(article_properties())


def test_id_problem_accepts_hash_ids_and_refuses_empty_or_oversized_ids():
    assert id_problem("0123456789abcdef0123456789abcdef") is None
    assert id_problem("  ") == "empty id"
    assert id_problem("x" * (MAX_ID_BYTES + 1)) is not None
    # the limit is in bytes, not characters
    assert id_problem("ع" * (MAX_ID_BYTES // 2 + 1)) is not None
