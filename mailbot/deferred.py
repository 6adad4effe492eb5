"""Rows written once per transaction: INSERTs nothing reads back until a known reader asks.

A write turn files many contributions in one transaction, and some of their rows are read in
it only by an owner that keeps what the transaction wrote in memory: the answers log
(`reply_log`, counted by hostile/answered.py) and the campaign index (`campaign_member`,
`campaign_band`, campaigns/index.py). Such rows wait in `session.info` and go in one
executemany per table, written:
- before the commit;
- before any statement run through the session (`do_orm_execute`: an ORM query, or a Core
  one by `session.execute`), which may read them, and before any ORM flush;
- when their owner is about to read or change that table on the connection (`write`).
An owner with rows of another shape (threads/pending.py: UPDATEs it writes only when a read
needs them) keeps them itself and is called at the same points (`own`).
A rollback drops them with the rest of the transaction: the turn run again one message at a
time queues them again. A statement run on `session.connection()` bypasses the hooks, so an
owner that reads its table that way calls `write` first (tests/spine/test_deferred_rows.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Insert, event
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

KEY = "mailbot.deferred"  # session.info: {table name: (its one INSERT, [rows])}
OWNERS = KEY + ".owners"  # session.info: {an owner's key: its write(session)}
HOOKED = KEY + ".hooked"


def add(session: Session, insert: Insert, row: dict[str, Any]) -> None:
    """`row` for `insert`'s table, written before anyone may read it."""
    waiting: dict[str, tuple[Insert, list[dict[str, Any]]]] | None = session.info.get(KEY)
    if waiting is None:
        _hook(session)
        waiting = session.info[KEY] = {}
    name = insert.table.name
    waiting.setdefault(name, (insert, []))[1].append(row)


def own(session: Session, key: str, writer: Callable[[Session], None]) -> None:
    """An owner that keeps its own waiting rows in `session.info[key]` (threads/pending.py):
    `writer(session)` runs wherever the rows here are written, and `key` goes when the
    transaction ends."""
    _hook(session)
    session.info.setdefault(OWNERS, {})[key] = writer


def _hook(session: Session) -> None:
    if not session.info.get(HOOKED):
        session.info[HOOKED] = True
        event.listen(session, "before_commit", _write_all)
        event.listen(session, "do_orm_execute", lambda state: _write_all(state.session))
        # An ORM flush may delete what they point at (an erasure): they go first.
        event.listen(session, "before_flush", lambda s, context, objects: _write_all(s))
        event.listen(session, "after_transaction_end", _end)
    session.connection()  # the transaction begun, so that its end (a rollback) is seen


def _write_all(session: Session) -> None:
    write(session)
    for writer in list((session.info.get(OWNERS) or {}).values()):
        writer(session)


def _end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the transaction, not a savepoint: what waits goes
        session.info.pop(KEY, None)
        for key in session.info.pop(OWNERS, None) or {}:
            session.info.pop(key, None)


def waiting(session: Session, table: str) -> list[dict[str, Any]]:
    """The rows waiting for `table` (an owner may read them rather than write them first)."""
    found = (session.info.get(KEY) or {}).get(table)
    return found[1] if found else []


def write(session: Session, table: str | None = None) -> None:
    """Write the rows waiting for `table` (None: for every table); nothing when none wait."""
    waiting: dict[str, tuple[Insert, list[dict[str, Any]]]] | None = session.info.get(KEY)
    if not waiting:
        return
    names = list(waiting) if table is None else [table] if table in waiting else []
    for name in names:
        insert, rows = waiting.pop(name)
        session.connection().execute(insert, rows)
