"""Preparing beside the filer: a second process checks, parses and classifies stored messages.

Filing is serial (one write transaction at a time, one GIL), but what comes before it
(`prepare.prepare`: the size limits, the MIME walk, mail-parser, the rules) reads nothing
but the message and the settings. In `mailbot run` a helper process does that for the next
messages while the pipeline's process files the ones in hand, so the two cores both work on
a rush. It only computes: the message's state, its quarantine and its answers are written by
the filer, so a helper that dies, or is stuck and killed, loses nothing. Its chunk is
prepared again in the filer (and a new helper started); a message that fails its checks
there is handed back by id, and the filer's one-at-a-time run quarantines it with its own
error, as without a helper.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from multiprocessing import get_context
from typing import TYPE_CHECKING

from sqlalchemy.orm import configure_mappers

from mailbot.app import App
from mailbot.child import become_child
from mailbot.classify import Verdict
from mailbot.config import Settings
from mailbot.db import make_engine
from mailbot.models import RawMessage
from mailbot.parse import ParsedMail
from mailbot.prepare import AHEAD, Prepared, prepare, prepare_some

if TYPE_CHECKING:
    from mailbot.road import Road

log = logging.getLogger(__name__)

# What crosses to the helper: the stored row's fields prepare() reads (not the ORM object).
Row = tuple[int, bytes, str | None, list[str], str, datetime]
# What comes back per row: its parsed mail and verdict, or its id alone when it failed.
Done = tuple[int, ParsedMail, Verdict] | int
REST = 60  # seconds without a helper after one could not start
STUCK = 60.0  # seconds a chunk may take in the helper (it takes milliseconds) before the
# helper is taken for stuck (stopped, deadlocked): killed, and the chunk prepared here
_APP: App | None = None  # the helper process's own app (no connection is ever opened)


def _start(parent: int, settings: Settings, road: Road, level: int) -> None:
    """The helper's initializer: a child like the others, and its app."""
    global _APP
    become_child(parent, level)
    configure_mappers()  # rows built without a constructor need the mapped attributes set up
    _APP = App(settings=settings, engine=make_engine(settings.server.db_url), road=road)
    log.info("preparer process %d started", os.getpid())


def _prepare_rows(rows: Sequence[Row]) -> list[Done]:
    """In the helper: each row's (id, parsed mail, verdict), or its id alone when it failed
    (the filer's one-at-a-time run says why)."""
    assert _APP is not None
    done: list[Done] = []
    for raw_id, raw, envelope_from, envelope_to, source, received_at in rows:
        # The stored row's own values: built without validation (a fifth of the cost).
        row = RawMessage.model_construct(
            id=raw_id,
            raw=raw,
            envelope_from=envelope_from,
            envelope_to=envelope_to,
            source=source,
            received_at=received_at,
            size=len(raw),
            content_sha256="",  # not read before filing
        )
        try:
            item = prepare(app=_APP, raw=row)
        except Exception:
            done.append(raw_id)
            continue
        done.append((raw_id, item.mail, item.verdict))
    return done


@dataclasses.dataclass
class Preparer:
    """One helper process, started on first use and again after it died."""

    settings: Settings
    road: Road
    pool: ProcessPoolExecutor | None = None
    resting_until: float = 0.0  # after a failed start, prepare here until then
    stuck_after: float = STUCK

    def submit(self, rows: Sequence[RawMessage]) -> Future[list[Done]] | None:
        """The rows handed to the helper; None when it cannot take them (prepare here)."""
        if time.monotonic() < self.resting_until:
            return None
        wire: list[Row] = [
            (r.id or 0, r.raw, r.envelope_from, list(r.envelope_to or ()), r.source, r.received_at)
            for r in rows
        ]
        try:
            if self.pool is None:
                self.pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=get_context("spawn"),
                    initializer=_start,
                    initargs=(os.getpid(), self.settings, self.road, logging.getLogger().level),
                )
            return self.pool.submit(_prepare_rows, wire)
        except Exception as exc:  # no process can be started: prepare here, try again later
            log.warning("preparer unavailable (%r); preparing here for %d s", exc, REST)
            self.close(wait=False)
            self.resting_until = time.monotonic() + REST
            return None

    def start(self) -> None:
        """Start the helper now: a spawned interpreter takes a second or two to import the
        road, which the first message of a quiet spell should not wait for."""
        self.submit([])

    def collect(
        self,
        future: Future[list[Done]],
        *,
        app: App,
        rows: Sequence[RawMessage],
        alone: list[int],
    ) -> list[Prepared]:
        """The chunk's prepared messages (failed ids go to `alone`); prepared here if the
        helper could not (it died, it is stuck, or its answer would not cross)."""
        try:
            results = future.result(timeout=self.stuck_after)
        except Exception as exc:
            if isinstance(exc, TimeoutError):
                log.error("preparer stuck for %.0f s: killed", self.stuck_after)
                self._kill()
            elif isinstance(exc, BrokenProcessPool):  # it died: the next submit starts another
                self.close(wait=False)
            log.warning("preparer failed (%r); preparing %d message(s) here", exc, len(rows))
            return prepare_some(app, rows, alone)
        by_id = {r.id: r for r in rows}
        ready: list[Prepared] = []
        for result in results:
            if isinstance(result, int):
                alone.append(result)
                continue
            raw_id, mail, verdict = result
            ready.append(Prepared(raw_id, mail, verdict, by_id[raw_id]))
        return ready

    def _kill(self) -> None:
        """Kill a stuck helper; its other chunks fail and are prepared here, and the next
        submit starts another. (The executor has no public way to do this before 3.14.)"""
        if self.pool is not None:
            for process in list(self.pool._processes.values()):
                process.kill()
            self.close(wait=False)

    def close(self, *, wait: bool = True) -> None:
        """Stop the helper. Waiting is what makes it stop: a pool left to shut down on its
        own while this process exits can miss its stop message, and this exit then waits
        for the helper forever."""
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=True)
            self.pool = None


def preparer_for(settings: Settings, road: Road) -> Preparer | None:
    """A helper process when `[server] prepare` asks for one ("auto": with a second CPU)."""
    wanted = settings.server.prepare
    if wanted == "inline" or (wanted == "auto" and (os.cpu_count() or 1) < 2):
        return None
    return Preparer(settings, dataclasses.replace(road, cli_groups=()))


def _succeeded(future: Future[list[Done]]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


class Ahead:
    """The batch's messages, prepared ahead of filing: here, AHEAD at a time between the
    write turns, or by the helper process (preparer.py), whose finished chunks all join the
    next turn while it prepares the following ones."""

    def __init__(self, app: App, rows: list[RawMessage], preparer: Preparer | None) -> None:
        self.app, self.preparer, self.alone = app, preparer, list[int]()
        # The helper's first chunk is small: the first turn waits for it, the next ones don't.
        first = 2 if preparer else AHEAD
        chunks = [rows[:first]] + [rows[i : i + AHEAD] for i in range(first, len(rows), AHEAD)]
        chunks = [c for c in chunks if c]
        self.chunks = [(c, preparer.submit(c) if preparer else None) for c in chunks]

    def more(self, waiting: int) -> list[Prepared]:
        """More prepared messages for a turn that has `waiting` in hand ([] when none)."""
        ready: list[Prepared] = []
        while self.chunks:
            rows, future = self.chunks[0]
            if future is None:  # prepared here: only what the next turn needs
                if waiting + len(ready) >= AHEAD:
                    break
                ready += prepare_some(self.app, rows, self.alone)
            else:  # the helper's: waited for only when there is nothing else to file
                if not future.done() and (waiting or ready):
                    break
                assert self.preparer is not None
                ready += self.preparer.collect(future, app=self.app, rows=rows, alone=self.alone)
            self.chunks.pop(0)
        return ready

    def finished(self) -> list[Prepared]:
        """What the helper has finished by now, for a turn in progress: nothing is waited
        for, and nothing is prepared here (not while the write turn is held: a chunk the
        helper failed waits for `more`, between turns)."""
        ready: list[Prepared] = []
        while self.chunks and (future := self.chunks[0][1]) is not None and _succeeded(future):
            assert self.preparer is not None
            rows = self.chunks.pop(0)[0]
            ready += self.preparer.collect(future, app=self.app, rows=rows, alone=self.alone)
        return ready
