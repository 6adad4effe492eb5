"""Threads in the store: the filing step that puts each new contribution in its conversation.

The new contribution is threaded together with everything it can affect, its *component*
(`lookup.py` finds it by index). ``thread()`` is run on just those rows, in contribution-id
order, so the result is what one run over every contribution would give
(tests/threads/test_thread_store.py checks exactly that).

Thread ids are stable: when a late parent joins two threads, the merged one keeps the
lower id and the other row goes; when a re-link splits a thread (a new root whose subject
no longer matches), the part with the lowest old id keeps it and the other gets a new one.
A thread's topic is its root's topic (a ghost root: its first message's), even when
replies were filed under other topics; a reply's own topic never changes here.

Writes are plain SQL (one set of each runs for every contribution filed), and only of what
changed; the ORM objects the session already holds (the new contribution, rows filed earlier
in the batch) are given the same values as committed state, so no flush writes them again
and none is left stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from mailbot.app import App
from mailbot.clock import utc
from mailbot.config import Threads
from mailbot.contributions import Filing
from mailbot.models import Contribution
from mailbot.threads import pending
from mailbot.threads.algo import thread
from mailbot.threads.guard import trim_references
from mailbot.threads.lookup import (
    FIELDS,
    Component,
    Member,
    T,
    chunks,
    component,
    named_ids,
    subject_key,
    when,
    window_of,
)
from mailbot.threads.models import Thread, ThreadRef
from mailbot.threads.probes import as_date, marks
from mailbot.threads.subject import base_subject
from mailbot.threads.values import ThreadInput, ThreadNode, ThreadResult

__all__ = ["component", "named_ids", "rebuild", "subject_key", "thread_contribution", "when"]

THREAD = Thread.__table__  # type: ignore[attr-defined]
DATES = frozenset({"first_date", "last_date", "last_activity"})
OLD_THREADS = select(T.id, *(T[name] for name in FIELDS)).where(
    T.id.in_(bindparam("ids", expanding=True))
)


def thread_input(c: Member) -> ThreadInput:
    assert c.id is not None
    return ThreadInput(
        key=c.id,
        message_id=c.message_id,
        in_reply_to=c.in_reply_to,
        references=tuple(c.references or ()),
        subject=c.subject,
        date=when(c),
        topic=c.topic,
    )


def thread_rows(rows: Sequence[Member], config: Threads) -> ThreadResult:
    """``thread()`` over rows in id order (the order a single run over the store uses)."""
    ordered = sorted(rows, key=lambda c: c.id or 0)
    return thread([thread_input(c) for c in ordered], mode=config.mode, window=window_of(config))


def record_refs(*, session: Session, contributions: Sequence[Member]) -> None:
    """Index the Message-IDs each contribution names, so a late parent finds its replies."""
    values = [(c.id, mid) for c in contributions for mid in named_ids(c)]
    if values:
        conn = session.connection()
        mark = marks(conn, 1)
        conn.exec_driver_sql(
            f"INSERT INTO thread_ref (contribution_id, message_id) VALUES ({mark}, {mark})",
            values,
        )


def _root_message(tree: ThreadNode, rows: dict[int, Member]) -> Member:
    """The root, or for a ghost root its first real message (whose subject RFC 5256 uses)."""
    node = tree
    while node.key is None:
        node = node.children[0]
    return rows[int(node.key)]  # type: ignore[call-overload]


def _fields(tree: ThreadNode, members: list[Member], root: Member, mode: str) -> dict[str, Any]:
    """The Thread row of one tree."""
    return {
        "consultation_id": root.consultation_id,
        "topic": root.topic,
        "title": base_subject(root.subject, extra_prefixes=mode == "consultation") or root.subject,
        "subject_key": subject_key(root.subject, mode),
        "root_contribution_id": None if tree.key is None else root.id,
        "root_message_id": tree.message_id,
        "messages": len(members),
        "participants": len({c.participant_id for c in members}),
        "first_date": min(when(c) for c in members),
        "last_date": max(when(c) for c in members),
        "last_activity": max(utc(c.received_at) for c in members),
    }


def _sync(session: Session, model: type, key: int, values: dict[str, Any]) -> None:
    """Give an object the session holds the values just written, as committed state."""
    held = session.identity_map.get(identity_key(model, key))
    if held is not None:
        for name, value in values.items():
            set_committed_value(held, name, value)


def _old_threads(session: Session, rows: dict[int, Member]) -> dict[int, dict[str, Any]]:
    """The current Thread rows of the component, by id (those its search read, not again)."""
    read = rows.threads if isinstance(rows, Component) else {}
    ids = {c.thread_id for c in rows.values() if c.thread_id is not None}
    old = {tid: read[tid] for tid in ids if tid in read}
    for chunk in chunks(ids - old.keys()):
        for row in session.connection().execute(OLD_THREADS, {"ids": chunk}):
            old[row.id] = dict(row._mapping)
    return old


def _insert_thread(session: Session, fields: dict[str, Any]) -> int:
    """A new Thread row; its id. Plain SQL: one runs for every new conversation."""
    conn = session.connection()
    values = [as_date(conn, v) if name in DATES else v for name, v in fields.items()]
    query = (
        f"INSERT INTO thread ({', '.join(fields)}) VALUES ({marks(conn, len(fields))}) RETURNING id"
    )
    return int(conn.exec_driver_sql(query, tuple(values)).scalar_one())


def _write_thread(
    session: Session, keep: int | None, fields: dict[str, Any], old: dict[int, dict[str, Any]]
) -> int:
    """Insert a new Thread row, or update what changed in the one kept; its id."""
    if keep is None:
        return _insert_thread(session, fields)
    before = old[keep]
    changed = {
        name: value
        for name, value in fields.items()
        if (utc(before[name]) if name in DATES else before[name]) != value
    }
    if changed:
        conn = session.connection()
        mark = marks(conn, 1)
        values = [as_date(conn, v) if name in DATES else v for name, v in changed.items()]
        sets = ", ".join(f"{name} = {mark}" for name in changed)
        conn.exec_driver_sql(f"UPDATE thread SET {sets} WHERE id = {mark}", (*values, keep))
        _sync(session, Thread, keep, changed)
    return keep


def _relink(
    session: Session, rows: dict[int, Member], moves: list[tuple[int, Any, Any]], *, wait: bool
) -> None:
    """Write the (thread, parent) of the contributions that moved (`wait`: with the others
    of the transaction, `pending.py`), and give the objects the session holds the same values."""
    if wait:
        left = {t for *_, key in moves if (t := rows[key].thread_id) is not None}
        pending.defer(session, moves, left)
    else:
        pending.write(session)  # in the order they were decided
        conn = session.connection()
        mark = marks(conn, 1)
        conn.exec_driver_sql(
            f"UPDATE contribution SET thread_id = {mark}, parent_id = {mark} WHERE id = {mark}",
            moves,
        )
    for tid, parent, key in moves:
        values = {"thread_id": tid, "parent_id": parent}
        if isinstance(held := rows[key], Contribution):
            for name, value in values.items():
                set_committed_value(held, name, value)
        else:
            _sync(session, Contribution, key, values)


def apply(
    *,
    session: Session,
    rows: dict[int, Member],
    result: ThreadResult,
    config: Threads,
    wait: bool = False,
) -> list[int]:
    """Write ``result`` for ``rows``: thread ids (lowest old id kept), parents, Thread rows;
    returns the ids of the threads written. `wait`: the contributions' links may wait for
    the end of the transaction (`pending.py`)."""
    groups = [[int(n.key) for n in tree.walk() if n.key is not None] for tree in result.threads]  # type: ignore[call-overload]
    old = _old_threads(session, rows)

    def olds(group: list[int]) -> list[int]:
        return sorted({t for k in group if (t := rows[k].thread_id) is not None and t in old})

    order = sorted(
        range(len(groups)), key=lambda i: (*(olds(groups[i])[:1] or [1 << 62]), min(groups[i]))
    )
    taken: set[int] = set()
    written: list[int] = []
    moves: list[tuple[int, Any, Any]] = []  # (thread, parent, contribution)
    for index in order:
        group, tree = groups[index], result.threads[index]
        keep = next((t for t in olds(group) if t not in taken), None)
        if keep is not None:
            taken.add(keep)
        members = [rows[k] for k in group]
        fields = _fields(tree, members, _root_message(tree, rows), config.mode)
        tid = _write_thread(session, keep, fields, old)
        written.append(tid)
        for c in members:
            parent = result.parent.get(c.id)
            if c.thread_id != tid or c.parent_id != parent:
                moves.append((tid, parent, c.id))
    if moves:
        _relink(session, rows, moves, wait=wait)
    for chunk in chunks(set(old) - taken):
        session.connection().execute(delete(THREAD).where(T.id.in_(chunk)))
        for gone in chunk:
            if (held := session.identity_map.get(identity_key(Thread, gone))) is not None:
                session.expunge(held)
    return written


def thread_contribution(*, app: App, session: Session, filing: Filing) -> None:
    """Put the new contribution in its thread; re-link what its arrival changes."""
    c = filing.contribution
    if c.sent_at is not None and c.sent_at.utcoffset():
        # Same instant, in UTC: SQLite keeps the wall time and drops the offset. (Only when
        # it is not UTC already: an assignment, even of an equal value, costs a flush.)
        c.sent_at = utc(c.sent_at)
    config = app.settings.threads
    dropped = trim_references(session=session, contribution=c)
    if dropped:
        filing.notes.append(f"References not believed: {len(dropped)} id(s) cut")
    record_refs(session=session, contributions=[c])
    rows = component(session=session, start=c, config=config)
    if len(rows) == 1 and not named_ids(c):
        # A new conversation (most contributions): what thread() gives for one message.
        assert c.id is not None
        result = ThreadResult((ThreadNode(c.id, c.message_id),), {c.id: None}, {c.id: 0})
        apply(session=session, rows=rows, result=result, config=config, wait=True)
        return
    result = thread_rows(list(rows.values()), config)
    apply(session=session, rows=rows, result=result, config=config, wait=True)


def rebuild(*, app: App, session: Session) -> int:
    """Thread every contribution of the consultation again (after a mode change, or for
    rows filed before threading was on); returns the number of threads."""
    cid = app.consultation.id
    config = app.settings.threads
    rows: dict[int, Member] = {
        c.id: c
        for c in session.exec(select(Contribution).where(Contribution.consultation_id == cid))
        if c.id is not None
    }
    for chunk in chunks(rows):
        session.execute(delete(ThreadRef).where(col(ThreadRef.contribution_id).in_(chunk)))
    record_refs(session=session, contributions=list(rows.values()))
    result = thread_rows(list(rows.values()), config)
    written = apply(session=session, rows=rows, result=result, config=config)
    # Threads no member points at any more (e.g. rows deleted by hand) go too.
    live = set(written)
    stale = [
        t
        for t in session.exec(select(Thread.id).where(Thread.consultation_id == cid))
        if t not in live
    ]
    for chunk in chunks(stale):
        session.execute(delete(Thread).where(col(Thread.id).in_(chunk)))
    return len(written)
