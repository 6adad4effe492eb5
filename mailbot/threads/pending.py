"""Contributions' thread ids and parents, written once per transaction instead of once a message.

Threading a new contribution moves it (and, when its arrival re-links them, others) to a
thread: the Thread rows are written at once (a new one's id is needed, and the next search
reads them), but the contributions' own `thread_id` / `parent_id` wait in `session.info` and
go in one executemany before the commit, or as soon as anything may read them from the
database first: the component search, before it loads rows that are waiting or members of a
thread a waiting move leaves or joins (`write` with `ids` / `threads`), and wherever
`mailbot.deferred` writes the transaction's other waiting rows (any statement run through
the session, an ORM flush); a rollback drops them. The objects the session holds have the
values already (as committed state), so the ORM never writes them again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from mailbot import deferred
from mailbot.threads.probes import marks

KEY = "mailbot.threads.pending"  # session.info: Waiting


@dataclass
class Waiting:
    """The moves not written yet, in the order they were decided, and what they touch."""

    moves: list[tuple[int, Any, Any]] = field(default_factory=list)  # (thread, parent, id)
    ids: set[int] = field(default_factory=set)  # the contributions moved
    threads: set[int] = field(default_factory=set)  # the threads they leave or join


def defer(session: Session, moves: list[tuple[int, Any, Any]], left: Iterable[int]) -> None:
    """(thread, parent, contribution) rows to write before anyone reads them; `left`: the
    threads the contributions are in now (in the database)."""
    waiting: Waiting | None = session.info.get(KEY)
    if waiting is None:
        waiting = session.info[KEY] = Waiting()
        deferred.own(session, KEY, write)  # written where the transaction's other rows are
    waiting.moves.extend(moves)
    waiting.ids.update(key for _, _, key in moves)
    waiting.threads.update(tid for tid, _, _ in moves)
    waiting.threads.update(left)


def write(
    session: Session, *, ids: Iterable[int] | None = None, threads: Iterable[int] | None = None
) -> None:
    """Write what waits (nothing when nothing does). Given the contribution `ids` or the
    `threads` about to be read: only when a waiting move concerns one of them."""
    waiting: Waiting | None = session.info.get(KEY)
    if waiting is None:
        return
    if (ids is not None or threads is not None) and (
        waiting.ids.isdisjoint(ids or ()) and waiting.threads.isdisjoint(threads or ())
    ):
        return  # the rows about to be read are as the database has them
    del session.info[KEY]
    if waiting.moves:
        conn = session.connection()
        mark = marks(conn, 1)
        conn.exec_driver_sql(
            f"UPDATE contribution SET thread_id = {mark}, parent_id = {mark} WHERE id = {mark}",
            waiting.moves,
        )
