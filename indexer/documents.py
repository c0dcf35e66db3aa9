"""The indexed form of an article."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.models import Article

# The envelope describes the Kafka message, not the article; the normalized
# copies serve deduplication upstream, and the engine normalizes the text
# itself (the .norm subfields), so storing them would only double the source.
_ENVELOPE_FIELDS = {"schema_name", "schema_version", "title_norm", "body_norm"}

# Elasticsearch and OpenSearch refuse longer _id values for the whole bulk.
MAX_ID_BYTES = 512


def to_document(article: Article, indexed_at: datetime) -> dict[str, Any]:
    doc = article.model_dump(mode="json", exclude=_ENVELOPE_FIELDS)
    doc["indexed_at"] = indexed_at.isoformat()
    return doc


def id_problem(article_id: str) -> str | None:
    """Why ``article_id`` cannot be a document id, or None if it can."""
    if not article_id.strip():
        return "empty id"
    if len(article_id.encode("utf-8")) > MAX_ID_BYTES:
        return f"id longer than {MAX_ID_BYTES} bytes"
    return None
