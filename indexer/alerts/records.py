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


def alert_id(rule: str, story_id: str) -> str:
    """``story_id``: the article's story cluster id, or its own id when it has
    none (the first-seen member's cluster id is its own id, so both agree)."""
    # Rule names are unique; the separator cannot occur in a rule name.
    return hashlib.sha256(f"{rule}\x1f{story_id}".encode("utf-8")).hexdigest()[:40]


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
            "last_status": None,
            # set by the notifier: the claim it holds while sending, the
            # digest the alert went out in, whether it passed the cooldown
            "lease_id": None,
            "digest_id": None,
            "cleared": False,
        }
        for channel in channels
    ]
    # One flag the sweep can query without nested documents.
    doc["pending"] = bool(channels)
    doc["next_attempt_at"] = doc["alerted_at"] if channels else None
    return doc


def small_index_body(properties: dict[str, Any]) -> dict[str, Any]:
    """A one-shard index with a closed mapping (the alert feature's own indices)."""
    return {
        "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1"}},
        "mappings": {"dynamic": False, "properties": properties},
    }


def alerts_index_body() -> dict[str, Any]:
    keyword = {"type": "keyword"}
    date = {"type": "date"}
    return small_index_body(
        {
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
                    "last_status": {"type": "integer"},
                    "lease_id": {"type": "keyword", "index": False},
                    "digest_id": keyword,
                    "cleared": {"type": "boolean"},
                }
            },
        }
    )
