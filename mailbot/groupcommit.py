"""The listener's group committer: concurrent deliveries batched into one durable store.

Every SMTP/LMTP session's DATA awaits `GroupCommitter.store`; the committer gathers what is
waiting and stores it with `mailbot.receive.store_raw_batch` in one commit, or on SQLite
appends it to the spool (spool.py) first and stores it in the database right after. On
SQLite nothing on the 250's path reads the database: a read per group there cost the
listener's process an eighth of its time (py-spy); what it read for, the resends, the store
keeps once anyway (the content hash).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import replace

from mailbot.app import App
from mailbot.db import sqlite_file
from mailbot.receive import RawIn, StoreResult, content_sha256, read_error, store_raw_batch
from mailbot.retry import is_transient, with_retries
from mailbot.spool import Group, Segment, Spool, spool_dir

log = logging.getLogger(__name__)

Spooled = Group[RawIn]
AGAIN = 1.0  # seconds before spooled groups are stored again while the database is down
REMEMBERED = 65536  # content hashes of stored messages the listener answers "duplicate" for


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
        # What this listener stored lately (hash -> row id): a resend (an MTA that missed our
        # 250) is answered "duplicate" without a database read on the 250's path. One this
        # misses is spooled, and the store keeps the first copy only (the content hash).
        self._stored: OrderedDict[str, int] = OrderedDict()
        # Set while the database itself fails (not one message): new deliveries get 451, as
        # on PostgreSQL, instead of piling up in the spool; cleared by the next store.
        self.unwell: Exception | None = None

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
        if self.unwell is not None:
            raise RuntimeError(f"the database is unwell: {self.unwell}")
        # One hand-off to a thread for the hashes and the append (each costs the event loop).
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
        known = {h: i for h in hashes if (i := self._stored.get(h)) is not None}
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

    def _remember(self, hashes: list[str], results: list[StoreResult]) -> None:
        for h, result in zip(hashes, results, strict=True):
            self._stored[h] = result.raw_id
        while len(self._stored) > REMEMBERED:
            self._stored.popitem(last=False)

    async def _store_spooled(self) -> None:
        """Store spooled groups in the database, as many at once as are waiting."""
        assert self.spool is not None
        while True:
            groups = [await self._spooled.get()]
            while not self._spooled.empty():
                groups.append(self._spooled.get_nowait())
            self._storing = len(groups)
            stored, again, down = await asyncio.to_thread(self._store_groups, groups)
            for segment in stored:
                self.spool.release(segment)
            if stored and self.unwell is not None:
                log.warning("the database is back: spooled mail stored, deliveries accepted")
                self.unwell = None
            if again:
                if self.unwell is None:  # said once, not at every retry
                    log.error("the database is down (%s): 451 until it is back", down)
                self.unwell = down
                for group in again:  # the spool keeps them meanwhile
                    asyncio.get_running_loop().call_later(AGAIN, self._spooled.put_nowait, group)
            self._storing = 0
            self.stored.set()

    def _store_groups(
        self, groups: list[Spooled]
    ) -> tuple[list[Segment], list[Spooled], Exception | None]:
        """(The segments whose groups are stored, the groups to store again, why.) A
        temporary failure (locked) is retried until it passes. A group that fails for its
        content is stored item by item; an item that still fails stays in the spool (stored
        at the next start, or looked at by an operator), never lost. When nothing could be
        stored and the database fails a plain read too, it is the database: all go again."""
        items = [item for group in groups for item in group.items]
        hashes = [h for group in groups for h in group.hashes]
        while True:
            try:
                self._remember(hashes, store_raw_batch(app=self.app, items=items, hashes=hashes))
                return [group.segment for group in groups], [], None
            except Exception as exc:
                if not is_transient(exc):
                    break
                log.warning("storing %d spooled message(s): %s; retrying", len(items), exc)
                time.sleep(1.0)
        stored: list[Segment] = []
        failed: list[tuple[Spooled, Exception]] = []
        for group in groups:
            try:
                for item in group.items:
                    with_retries(lambda item=item: store_raw_batch(app=self.app, items=[item]))  # type: ignore[misc]
            except Exception as error:
                failed.append((group, error))
                continue
            stored.append(group.segment)
        if failed and not stored and (down := read_error(self.app)) is not None:
            return [], groups, down
        for group, why in failed:
            log.error(
                "a spooled message could not be stored (kept in %s): %s", group.segment.path, why
            )
        return stored, [], None

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
