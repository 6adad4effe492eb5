"""Receive: store raw bytes durably and idempotently; the first step of every message's road.

Every entrance (SMTP/LMTP, IMAP, `mailbot ingest`) calls `store_raw_batch`; nothing is parsed
before the bytes are committed. The same message delivered twice is stored once: the key is a
SHA-256 of the bytes with the trace headers each delivery adds (Received, Return-Path, ...)
left out, so a resend through another hop still dedupes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from mailbot.app import App
from mailbot.db import write_turn
from mailbot.headers import msgids
from mailbot.models import RawMessage

TRACE_HEADERS = re.compile(
    rb"^(received|return-path|delivered-to|x-original-to|x-envelope-to|x-delivered-to)\s*:",
    re.I,
)


@dataclass(frozen=True)
class RawIn:
    raw: bytes
    source: str
    envelope_from: str | None = None
    envelope_to: tuple[str, ...] = field(default_factory=tuple)
    received_at: datetime | None = None  # durably received before it is stored (spool.py)


@dataclass(frozen=True)
class StoreResult:
    raw_id: int
    duplicate: bool


def content_sha256(raw: bytes) -> str:
    """Hash of the message minus delivery trace headers (header block only is filtered)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):  # continuation of the previous header
            if not skipping:
                kept.append(line)
            continue
        skipping = bool(TRACE_HEADERS.match(line))
        if not skipping:
            kept.append(line)
    digest = hashlib.sha256()
    digest.update(b"".join(kept).replace(b"\r\n", b"\n"))
    digest.update(sep.replace(b"\r\n", b"\n"))
    digest.update(body.replace(b"\r\n", b"\n"))
    return digest.hexdigest()


def _message_id(raw: bytes) -> str | None:
    match = re.search(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", raw[:65536], re.I | re.M)
    if not match:
        return None
    ids = msgids(match.group(1).decode("ascii", "replace"))
    return ids[0][:900] if ids else None


def store_raw_batch(
    *,
    app: App,
    items: Sequence[RawIn],
    session: Session | None = None,
    hashes: Sequence[str] | None = None,
) -> list[StoreResult]:
    """Store all items in ONE transaction (a group commit); return their row ids in order.

    With `session`, the rows join the caller's transaction (the IMAP poller commits its
    position with them) and the caller commits. `hashes`: the items' `content_sha256`, when
    the caller has them already (the listener's spool).
    """
    if not items:
        return []
    if hashes is None:
        hashes = [content_sha256(item.raw) for item in items]
    rows = _rows(app, items, hashes)  # before the write turn: the pipeline waits for it
    if session is None:
        # A Core connection: the listener's group commit is on the hot path, no ORM needed.
        with write_turn(app.engine, intake=True), app.engine.begin() as conn:
            return _store(app=app, rows=rows, session=conn, hashes=hashes)
    return _store(app=app, rows=rows, session=session, hashes=hashes)


_RAW = RawMessage.__table__  # type: ignore[attr-defined]
# Built once: building them per call cost more CPU than running them (twice per group).
_KNOWN = select(_RAW.c.content_sha256, _RAW.c.id).where(
    _RAW.c.content_sha256.in_(bindparam("hashes", expanding=True))
)
# ON CONFLICT DO NOTHING: a concurrent entrance may have stored the same bytes.
_INSERT = {
    name: dialect.insert(_RAW).on_conflict_do_nothing(index_elements=["content_sha256"])
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def known_ids(session: Session | Connection, hashes: Sequence[str]) -> dict[str, int]:
    """The stored messages among these content hashes: hash -> row id."""
    rows = session.execute(_KNOWN, {"hashes": list(hashes)}).all()
    return {str(h): int(i) for h, i in rows}


def read_error(app: App) -> Exception | None:
    """The error a plain read of the stored mail gives (the database itself is down, its
    table gone, its file unreadable), or None when it works."""
    try:
        with app.engine.connect() as conn:
            conn.execute(select(_RAW.c.id).limit(1))
    except Exception as exc:
        return exc
    return None


def _rows(app: App, items: Sequence[RawIn], hashes: Sequence[str]) -> list[dict[str, Any]]:
    now = app.clock.now()
    return [
        {
            "received_at": item.received_at or now,
            "source": item.source,
            "envelope_from": item.envelope_from,
            "envelope_to": list(item.envelope_to),
            "message_id": _message_id(item.raw),
            "content_sha256": digest,
            "size": len(item.raw),
            "raw": item.raw,
            "state": "new",
        }
        for item, digest in zip(items, hashes, strict=True)
    ]


def _store(
    *,
    app: App,
    rows: list[dict[str, Any]],
    session: Session | Connection,
    hashes: Sequence[str],
) -> list[StoreResult]:
    known = known_ids(session, hashes)
    # One row per new hash (the same bytes twice in one batch are stored once).
    fresh = list(
        {r["content_sha256"]: r for r in rows if r["content_sha256"] not in known}.values()
    )
    if fresh:
        # The rows go as parameters (executemany), not compiled into one long VALUES list.
        session.execute(_INSERT.get(app.engine.dialect.name, _INSERT["sqlite"]), fresh)
    ids = known_ids(session, hashes) if fresh else known
    seen: set[str] = set()
    results = []
    for h in hashes:
        results.append(StoreResult(raw_id=ids[h], duplicate=h in known or h in seen))
        seen.add(h)
    return results
