"""Receive: store raw bytes durably and idempotently; the first step of every message's road.

Every entrance (SMTP/LMTP, IMAP, `mailbot ingest`) calls `store_raw_batch`; nothing is parsed
before the bytes are committed. The same message delivered twice is stored once: the key is a
SHA-256 of the bytes with the trace headers each delivery adds (Received, Return-Path, ...)
left out, so a resend through another hop still dedupes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from mailbot.app import App
from mailbot.db import sqlite_file, write_turn
from mailbot.headers import msgids
from mailbot.models import RawMessage
from mailbot.retry import is_transient, with_retries
from mailbot.spool import Group, Segment, Spool, spool_dir

log = logging.getLogger(__name__)

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
    if session is None:
        # A Core connection: the listener's group commit is on the hot path, no ORM needed.
        with write_turn(app.engine, intake=True), app.engine.begin() as conn:
            return _store(app=app, items=items, session=conn, hashes=hashes)
    return _store(app=app, items=items, session=session, hashes=hashes)


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


def _store(
    *, app: App, items: Sequence[RawIn], session: Session | Connection, hashes: Sequence[str]
) -> list[StoreResult]:
    now = app.clock.now()
    rows = [
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


Spooled = Group[RawIn]


class GroupCommitter:
    """Batches concurrent deliveries into one commit, so many SMTP sessions share one fsync.

    `await store(item)` returns only after the item is durably stored: committed to the
    database, or on SQLite appended to the listener's spool and flushed to disk (spool.py),
    so the 250 never waits for the database's write turn; the group is stored in the
    database right after. If the commit (or the append) fails, every waiter of that batch
    gets the exception (and answers 451).
    """

    def __init__(self, *, app: App, max_batch: int = 256) -> None:
        self.app = app
        self.max_batch = max_batch
        # A future's result: the stored row, or None when spooled (stored in the database next).
        self._queue: asyncio.Queue[tuple[RawIn, asyncio.Future[StoreResult | None]]] = (
            asyncio.Queue()
        )
        self._task: asyncio.Task[None] | None = None
        self.stored = asyncio.Event()  # set after each commit: wakes the pipeline worker
        spooled = sqlite_file(app.settings.server.db_url) is not None
        self.spool = Spool(spool_dir(app.settings.server.data_dir)) if spooled else None
        self._spooled: asyncio.Queue[Spooled] = asyncio.Queue()
        self._storer: asyncio.Task[None] | None = None
        self._storing = 0  # groups being stored right now

    def recover(self) -> int:
        """Store what the spool still holds from a process that stopped (before listening)."""
        if self.spool is None:
            return 0
        count = 0
        for path, records in self.spool.recover():
            store_raw_batch(app=self.app, items=[RawIn(**r) for r in records])
            self.spool.forget(path)
            count += len(records)
        return count

    async def store(self, item: RawIn) -> StoreResult | None:
        """The stored row; None when the item is on disk in the spool (SQLite)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="group-commit")
        future: asyncio.Future[StoreResult | None] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            items = [item for item, _ in batch]
            try:
                results = await (self._spool(items) if self.spool else self._commit(items))
            except Exception as exc:
                log.error("storing %d message(s) failed: %s", len(batch), exc)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _commit(self, items: list[RawIn]) -> list[StoreResult | None]:
        results = await asyncio.to_thread(store_raw_batch, app=self.app, items=items)
        self.stored.set()
        return list(results)

    async def _spool(self, items: list[RawIn]) -> list[StoreResult | None]:
        # One hand-off to a thread for the lookup and the append (each costs the event loop).
        hashes, known, spooled = await asyncio.to_thread(self._append, items)
        if spooled is not None:
            if self._storer is None or self._storer.done():
                self._storer = asyncio.create_task(self._store_spooled(), name="spool-store")
            self._spooled.put_nowait(spooled)
        return [StoreResult(known[h], duplicate=True) if h in known else None for h in hashes]

    def _append(self, items: list[RawIn]) -> tuple[list[str], dict[str, int], Spooled | None]:
        """(hashes, those stored already, the group spooled); in a thread."""
        assert self.spool is not None
        hashes = [content_sha256(item.raw) for item in items]
        # What the database has already is answered as before ("duplicate"), not spooled: a
        # read, which in WAL mode never waits for the writer.
        with self.app.engine.connect() as conn:
            known = known_ids(conn, hashes)
        now = self.app.clock.now()  # durably received: now, not when the database has it
        fresh, fresh_hashes = [], []
        for item, h in zip(items, hashes, strict=True):
            if h not in known:
                fresh.append(replace(item, received_at=item.received_at or now))
                fresh_hashes.append(h)
        if not fresh:
            return hashes, known, None
        # A record is `RawIn(**record)` again (vars: dataclasses.asdict deep-copies).
        segment = self.spool.append([dict(vars(item)) for item in fresh])
        return hashes, known, Spooled(fresh, fresh_hashes, segment)

    async def _store_spooled(self) -> None:
        """Store spooled groups in the database, as many at once as are waiting."""
        assert self.spool is not None
        while True:
            groups = [await self._spooled.get()]
            while not self._spooled.empty():
                groups.append(self._spooled.get_nowait())
            self._storing = len(groups)
            for segment in await asyncio.to_thread(self._store_groups, groups):
                self.spool.release(segment)
            self._storing = 0
            self.stored.set()

    def _store_groups(self, groups: list[Spooled]) -> list[Segment]:
        """The segments whose groups are stored. A temporary failure (locked, the database
        away) is retried until it passes: the spool holds the mail meanwhile. A group that
        fails for its content is stored item by item; an item that still fails stays in the
        spool (stored at the next start, or looked at by an operator), never lost."""
        items = [item for group in groups for item in group.items]
        hashes = [h for group in groups for h in group.hashes]
        while True:
            try:
                store_raw_batch(app=self.app, items=items, hashes=hashes)
                return [group.segment for group in groups]
            except Exception as exc:
                if not is_transient(exc):
                    break
                log.warning("storing %d spooled message(s): %s; retrying", len(items), exc)
                time.sleep(1.0)
        stored = []
        for group in groups:
            try:
                for item in group.items:
                    with_retries(lambda item=item: store_raw_batch(app=self.app, items=[item]))  # type: ignore[misc]
            except Exception as exc:
                log.error(
                    "a spooled message could not be stored (kept in %s): %s",
                    group.segment.path,
                    exc,
                )
                continue
            stored.append(group.segment)
        return stored

    async def close(self) -> None:
        """Stop; spooled groups are stored first (what is left is recovered at the next
        start)."""
        for _ in range(100):  # at most about 10 s
            if self._spooled.empty() and not self._storing:
                break
            await asyncio.sleep(0.1)
        for task in (self._task, self._storer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.spool is not None:
            self.spool.close()
