"""Alert records: the deterministic alert id, the alert document in the
alerts index (which is also the delivery outbox) and that index's mappings."""
from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel

from ingest.models import Alert


class Channel(BaseModel):
    """Where a rule's alerts are delivered, as stored on the rule document."""

    name: str
    type: str = "webhook"
    url: str


def alert_id(rule: str, article_id: str) -> str:
    # Rule names are unique; the separator cannot occur in a rule name.
    return hashlib.sha256(f"{rule}\x1f{article_id}".encode("utf-8")).hexdigest()[:40]


def alert_document(alert: Alert, channels: list[Channel], *, cooldown_s: float, digest: bool) -> dict[str, Any]:
    """The alert as first written (with ``create``) to the alerts index: its
    fields, plus one pending delivery per channel for the notifier."""
    doc = alert.model_dump(mode="json", exclude={"schema_name", "schema_version"})
    doc["cooldown_s"] = cooldown_s
    doc["digest"] = digest
    doc["deliveries"] = [
        {
            "channel": channel.name,
            "type": channel.type,
            "url": channel.url,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": doc["alerted_at"],
            "delivered_at": None,
            "last_error": None,
        }
        for channel in channels
    ]
    # One flag the sweep can query without nested documents.
    doc["pending"] = bool(channels)
    doc["next_attempt_at"] = doc["alerted_at"] if channels else None
    return doc


def alerts_index_body() -> dict[str, Any]:
    keyword = {"type": "keyword"}
    date = {"type": "date"}
    return {
        "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1"}},
        "mappings": {
            "dynamic": False,
            "properties": {
                "id": keyword,
                "rule": keyword,
                "severity": keyword,
                "channels": keyword,
                "article_id": keyword,
                "url": keyword,
                "source": keyword,
                "language": keyword,
                "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 512}}},
                "snippet": {"type": "text"},
                "matched_terms": keyword,
                "published_at": {"type": "date", "ignore_malformed": True},
                "indexed_at": date,
                "alerted_at": date,
                "cooldown_s": {"type": "float"},
                "digest": {"type": "boolean"},
                "pending": {"type": "boolean"},
                "next_attempt_at": date,
                "deliveries": {
                    "properties": {
                        "channel": keyword,
                        "type": keyword,
                        "state": keyword,
                        "attempts": {"type": "integer"},
                        "next_attempt_at": date,
                        "delivered_at": date,
                        "url": {"type": "keyword", "index": False},
                        "last_error": {"type": "text", "index": False},
                    }
                },
            },
        },
    }
