"""Threads in the store: the filing step that puts each new contribution in its conversation.

A new contribution is threaded together with everything it can affect, found by index:
its *component*. That is the fixpoint of (a) contributions sharing a Message-ID with it
(the parent it names, replies that named it while it was a ghost, siblings under the same
ghost, an earlier message with the same Message-ID), (b) every member of their threads,
and (c) the threads whose root has the same merge key (topic and base subject) and whose
dates come within the window of the component's dates. ``thread()`` is run on just those
rows, in contribution-id order, so the result is what one run over every contribution
would give (tests/threads/test_thread_store.py checks exactly that).

Thread ids are stable: when a late parent joins two threads, the merged one keeps the
lower id and the other row goes; when a re-link splits a thread (a new root whose subject
no longer matches), the part with the lowest old id keeps it and the other gets a new one.
A thread's topic is its root's topic (a ghost root: its first message's), even when
replies were filed under other topics; a reply's own topic never changes here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_
from sqlmodel import Session, col, select

from mailbot.app import App
from mailbot.clock import utc
from mailbot.config import Threads
from mailbot.contributions import Filing
from mailbot.models import Contribution
from mailbot.threads.algo import thread
from mailbot.threads.guard import trim_references
from mailbot.threads.models import KEY_LENGTH, MSGID_LENGTH, Thread, ThreadRef
from mailbot.threads.subject import base_subject, base_subject_and_flag, casemap
from mailbot.threads.values import ThreadInput, ThreadNode, ThreadResult

CHUNK = 500  # ids per IN (...) query


def _chunks(items: Iterable[Any]) -> Iterable[list[Any]]:
    ordered = sorted(items)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def named_ids(c: Contribution) -> list[str]:
    """The Message-IDs a contribution names (References and In-Reply-To), as indexed."""
    ids = [*(c.references or ()), *((c.in_reply_to,) if c.in_reply_to else ())]
    return list(dict.fromkeys(i[:MSGID_LENGTH] for i in ids if i))


def when(c: Contribution) -> datetime:
    """The date threading sorts by: the sent date, else the received date (RFC 5256)."""
    return utc(c.sent_at or c.received_at)


def subject_key(subject: str, mode: str) -> str:
    """What subject merging compares in ``mode`` (cut to the indexed length); '' for none."""
    if mode == "references":
        return ""
    base, _ = base_subject_and_flag(subject, extra_prefixes=mode == "consultation")
    return casemap(base)[:KEY_LENGTH]


def window_of(config: Threads) -> timedelta | None:
    if config.mode != "consultation" or not config.window_days:
        return None
    return timedelta(days=config.window_days)


def thread_input(c: Contribution) -> ThreadInput:
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


def thread_rows(rows: Sequence[Contribution], config: Threads) -> ThreadResult:
    """``thread()`` over rows in id order (the order a single run over the store uses)."""
    ordered = sorted(rows, key=lambda c: c.id or 0)
    return thread([thread_input(c) for c in ordered], mode=config.mode, window=window_of(config))


def record_refs(*, session: Session, contributions: Sequence[Contribution]) -> None:
    """Index the Message-IDs each contribution names, so a late parent finds its replies."""
    values = [
        {"contribution_id": c.id, "message_id": mid} for c in contributions for mid in named_ids(c)
    ]
    if values:
        session.execute(insert(ThreadRef), values)


def component(*, session: Session, start: Contribution, config: Threads) -> dict[int, Contribution]:
    """Every contribution whose threading the arrival of ``start`` can change."""
    cid = start.consultation_id
    window = window_of(config)
    assert start.id is not None
    rows: dict[int, Contribution] = {start.id: start}
    asked_ids: set[str] = set()
    asked_threads: set[int] = set()
    frontier: list[Contribution] = [start]
    asked_shape: tuple[frozenset[tuple[str, str]], datetime, datetime] | None = None

    def take(found: Iterable[Contribution], into: list[Contribution]) -> None:
        for c in found:
            if c.id is not None and c.id not in rows:
                rows[c.id] = c
                into.append(c)

    def members(thread_ids: set[int], into: list[Contribution]) -> None:
        asked_threads.update(thread_ids)
        for chunk in _chunks(thread_ids):
            take(
                session.exec(select(Contribution).where(col(Contribution.thread_id).in_(chunk))),
                into,
            )

    while frontier:
        found: list[Contribution] = []
        # (a) Shared Message-IDs: the ids it names and its own, both ways.
        own = {c.message_id for c in frontier if c.message_id}
        ids = ({i for c in frontier for i in named_ids(c)} | own) - asked_ids
        asked_ids.update(ids)
        for chunk in _chunks(ids):
            named = select(ThreadRef.contribution_id).where(
                col(ThreadRef.message_id).in_({i[:MSGID_LENGTH] for i in chunk})
            )
            query = select(Contribution).where(
                Contribution.consultation_id == cid,
                or_(col(Contribution.message_id).in_(chunk), col(Contribution.id).in_(named)),
            )
            take(session.exec(query), found)
        # (b) Whole threads of everything found.
        members(
            {c.thread_id for c in (*frontier, *found) if c.thread_id is not None} - asked_threads,
            found,
        )
        # (c) Threads a subject merge could join, near enough in time (asked again only
        # when the rows brought new subjects or widened the dates).
        shape = _subject_shape(rows.values(), config.mode) if config.mode != "references" else None
        if shape is not None and shape != asked_shape:
            asked_shape = shape
            members(
                _subject_candidates(session, cid, rows.values(), config.mode, window)
                - asked_threads,
                found,
            )
        frontier = found
    return rows


def _subject_shape(
    rows: Iterable[Contribution], mode: str
) -> tuple[frozenset[tuple[str, str]], datetime, datetime]:
    rows = list(rows)
    keys = frozenset((subject_key(c.subject, mode), c.topic) for c in rows)
    dates = [when(c) for c in rows]
    return keys, min(dates), max(dates)


def _subject_candidates(
    session: Session,
    cid: str,
    rows: Iterable[Contribution],
    mode: str,
    window: timedelta | None,
) -> set[int]:
    keys: dict[str, set[str]] = {}
    dates: list[datetime] = []
    for c in rows:
        dates.append(when(c))
        if key := subject_key(c.subject, mode):
            keys.setdefault(key, set()).add(c.topic)
    found: set[int] = set()
    for chunk in _chunks(keys):
        query = select(Thread.id, Thread.subject_key, Thread.topic).where(
            Thread.consultation_id == cid, col(Thread.subject_key).in_(chunk)
        )
        if mode == "consultation":
            topics = set().union(*(keys[k] for k in chunk))
            query = query.where(col(Thread.topic).in_(topics))
        if window is not None:
            query = query.where(
                col(Thread.last_date) >= min(dates) - window,
                col(Thread.first_date) <= max(dates) + window,
            )
        for tid, key, topic in session.exec(query):
            if tid is not None and (mode != "consultation" or topic in keys[key]):
                found.add(tid)
    return found


def _root_message(tree: ThreadNode, rows: dict[int, Contribution]) -> Contribution:
    """The root, or for a ghost root its first real message (whose subject RFC 5256 uses)."""
    node = tree
    while node.key is None:
        node = node.children[0]
    return rows[int(node.key)]  # type: ignore[call-overload]


def apply(
    *, session: Session, rows: dict[int, Contribution], result: ThreadResult, config: Threads
) -> list[Thread]:
    """Write ``result`` for ``rows``: thread ids (lowest old id kept), parents, Thread rows."""
    groups = [[int(n.key) for n in tree.walk() if n.key is not None] for tree in result.threads]  # type: ignore[call-overload]
    old_ids = {c.thread_id for c in rows.values() if c.thread_id is not None}
    old: dict[int, Thread] = {}
    for chunk in _chunks(old_ids):
        old.update(
            (t.id, t)
            for t in session.exec(select(Thread).where(col(Thread.id).in_(chunk)))
            if t.id is not None
        )

    def olds(group: list[int]) -> list[int]:
        return sorted({t for k in group if (t := rows[k].thread_id) is not None and t in old})

    order = sorted(
        range(len(groups)), key=lambda i: (*(olds(groups[i])[:1] or [1 << 62]), min(groups[i]))
    )
    taken: set[int] = set()
    written: list[Thread] = []
    for index in order:
        group, tree = groups[index], result.threads[index]
        keep = next((t for t in olds(group) if t not in taken), None)
        root = _root_message(tree, rows)
        members = [rows[k] for k in group]
        fields: dict[str, Any] = {
            "consultation_id": root.consultation_id,
            "topic": root.topic,
            "title": base_subject(root.subject, extra_prefixes=config.mode == "consultation")
            or root.subject,
            "subject_key": subject_key(root.subject, config.mode),
            "root_contribution_id": None if tree.key is None else root.id,
            "root_message_id": tree.message_id,
            "messages": len(members),
            "participants": len({c.participant_id for c in members}),
            "first_date": min(when(c) for c in members),
            "last_date": max(when(c) for c in members),
            "last_activity": max(utc(c.received_at) for c in members),
        }
        if keep is None:
            row = Thread(**fields)
            session.add(row)
            session.flush()
        else:
            taken.add(keep)
            row = old[keep]
            for name, value in fields.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
            session.add(row)
        written.append(row)
        for c in members:
            parent = result.parent.get(c.id)
            if c.thread_id != row.id or c.parent_id != parent:
                c.thread_id, c.parent_id = row.id, parent  # type: ignore[assignment]
                session.add(c)
    gone = set(old) - taken
    for chunk in _chunks(gone):
        session.execute(delete(Thread).where(col(Thread.id).in_(chunk)))
    return written


def thread_contribution(*, app: App, session: Session, filing: Filing) -> None:
    """Put the new contribution in its thread; re-link what its arrival changes."""
    c = filing.contribution
    if c.sent_at is not None and c.sent_at.tzinfo is not None:
        # Same instant, in UTC: SQLite keeps the wall time and drops the offset.
        c.sent_at = utc(c.sent_at)
    config = app.settings.threads
    dropped = trim_references(session=session, contribution=c)
    if dropped:
        filing.notes.append(f"References not believed: {len(dropped)} id(s) cut")
    record_refs(session=session, contributions=[c])
    rows = component(session=session, start=c, config=config)
    apply(
        session=session, rows=rows, result=thread_rows(list(rows.values()), config), config=config
    )


def rebuild(*, app: App, session: Session) -> int:
    """Thread every contribution of the consultation again (after a mode change, or for
    rows filed before threading was on); returns the number of threads."""
    cid = app.consultation.id
    config = app.settings.threads
    rows = {
        c.id: c
        for c in session.exec(select(Contribution).where(Contribution.consultation_id == cid))
        if c.id is not None
    }
    for chunk in _chunks(rows):
        session.execute(delete(ThreadRef).where(col(ThreadRef.contribution_id).in_(chunk)))
    record_refs(session=session, contributions=list(rows.values()))
    result = thread_rows(list(rows.values()), config)
    written = apply(session=session, rows=rows, result=result, config=config)
    # Threads no member points at any more (e.g. rows deleted by hand) go too.
    live = {t.id for t in written}
    stale = [
        t
        for t in session.exec(select(Thread.id).where(Thread.consultation_id == cid))
        if t not in live
    ]
    for chunk in _chunks(stale):
        session.execute(delete(Thread).where(col(Thread.id).in_(chunk)))
    return len(written)
