"""Per-rule, per-channel cooldown windows, kept in the search engine (one
small document per rule and channel, changed only by conditional writes):
notifiers restart and scale out, so no process may keep them in memory.

A window opens when a notification (an alert or a digest) is about to be
sent on the channel, and lasts the rule's ``cooldown_s``; alerts of the rule
that come within it are held for a digest or suppressed."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import structlog

from ingest.dates import parse_iso_datetime
from ingest.engines.client import VendorClient
from ingest.engines.errors import EngineError
from ingest.models import utcnow
from ingest.settings import Settings
from indexer.alerts.outbox import conflicts_error, is_conflict, iso
from indexer.alerts.records import small_index_body

log = structlog.get_logger(__name__)

_ATTEMPTS = 10


def cooldowns_index(settings: Settings) -> str:
    return f"{settings.alerts_index}-cooldowns"


def cooldowns_index_body() -> dict[str, Any]:
    keyword = {"type": "keyword"}
    date = {"type": "date"}
    return small_index_body({"rule": keyword, "channel": keyword, "holder": keyword, "opened_at": date, "until": date})


def window_id(rule: str, channel: str) -> str:
    # Rule names cannot contain ':' (see the rules file format).
    return f"{rule}:{channel}"


def _take(
    client: VendorClient, index: str, doc_id: str, *, holder: str, until: datetime, now: datetime, about: dict[str, str]
) -> datetime | None:
    """Make ``holder`` the holder of ``doc_id`` until ``until`` unless someone
    else holds it beyond ``now``. None: taken (or already the holder's);
    otherwise the time the other holder's hold ends."""
    for _ in range(_ATTEMPTS):
        found = client.get_raw(index, doc_id)
        if found:
            current = found["_source"]
            if current.get("holder") == holder:
                return None
            other_until = parse_iso_datetime(current.get("until"))
            if other_until is not None and other_until > now:
                return other_until
        body = {**about, "holder": holder, "opened_at": iso(now), "until": iso(until)}
        try:
            if found:
                client.index_raw(
                    index, doc_id, body, if_seq_no=found["_seq_no"], if_primary_term=found["_primary_term"]
                )
            else:
                client.index_raw(index, doc_id, body, op_type="create")
            return None
        except EngineError as exc:
            if not is_conflict(exc):
                raise
            # someone else took or renewed it meanwhile: look again
    raise conflicts_error(f"cooldown {doc_id}", _ATTEMPTS)


def enter_window(
    client: VendorClient,
    index: str,
    *,
    rule: str,
    channel: str,
    cooldown_s: float,
    holder: str,
    now: datetime,
) -> datetime | None:
    """Open the cooldown window of (``rule``, ``channel``) for ``holder`` (the
    alert or digest about to be sent). None: go ahead and send (the window is
    the holder's, already or now). A datetime: another notification's window
    runs until then, so hold or suppress."""
    return _take(
        client,
        index,
        window_id(rule, channel),
        holder=holder,
        until=now + timedelta(seconds=cooldown_s),
        now=now,
        about={"rule": rule, "channel": channel},
    )


@contextmanager
def digest_turn(
    client: VendorClient, index: str, *, rule: str, channel: str, lease_s: float
) -> Iterator[bool]:
    """Whether this caller may assemble the digest of (``rule``, ``channel``)
    now: one notifier at a time, so that two sweeps never split one digest
    between them. The turn is a lease (a dead holder's runs out)."""
    doc_id = f"{window_id(rule, channel)}:digest"
    holder = uuid.uuid4().hex
    now = utcnow()
    about = {"rule": rule, "channel": channel}
    taken = _take(client, index, doc_id, holder=holder, until=now + timedelta(seconds=lease_s), now=now, about=about)
    try:
        yield taken is None
    finally:
        if taken is None:
            _release(client, index, doc_id, holder)


def _release(client: VendorClient, index: str, doc_id: str, holder: str) -> None:
    """End ``holder``'s hold now; if this loses a race, its lease ends it."""
    found = client.get_raw(index, doc_id)
    if not found or found["_source"].get("holder") != holder:
        return
    body = {**found["_source"], "until": iso(utcnow())}
    try:
        client.index_raw(index, doc_id, body, if_seq_no=found["_seq_no"], if_primary_term=found["_primary_term"])
    except EngineError as exc:
        if not is_conflict(exc):
            raise
