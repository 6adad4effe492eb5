"""The threading component by index: which stored contributions a new one can re-link.

A new contribution is threaded together with everything it can affect: its *component*.
That is the fixpoint of (a) contributions sharing a Message-ID with it (the parent it names,
replies that named it while it was a ghost, siblings under the same ghost, an earlier
message with the same Message-ID), (b) every member of their threads, and (c) the threads
whose root has the same merge key (topic and base subject) and whose dates come within the
window of the component's dates.

This runs for every contribution filed, so it asks by index with plain SQL for ids first
(`probes.py`), then loads only the columns threading needs (Core statements built once), no
ORM entities: a new message that names nobody and starts a fresh subject costs one SELECT.
A thread's members come with its row, which the store then updates without reading it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlmodel import Session

from mailbot.clock import utc
from mailbot.config import Threads
from mailbot.models import Contribution
from mailbot.threads import pending, probes
from mailbot.threads.models import KEY_LENGTH, MSGID_LENGTH, Thread
from mailbot.threads.probes import Shape
from mailbot.threads.subject import base_subject_and_flag, casemap

CHUNK = 500  # ids per IN (...) query
C = Contribution.__table__.c  # type: ignore[attr-defined]
T = Thread.__table__.c  # type: ignore[attr-defined]


class Member(Protocol):
    """What threading reads of a contribution: an ORM `Contribution` or a Core row."""

    id: int | None
    consultation_id: str
    topic: str
    participant_id: int
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    subject: str
    sent_at: datetime | None
    received_at: datetime
    thread_id: int | None
    parent_id: int | None


# Exactly the columns `Member` names.
COLUMNS = (
    C.id,
    C.consultation_id,
    C.topic,
    C.participant_id,
    C.message_id,
    C.in_reply_to,
    C.references,
    C.subject,
    C.sent_at,
    C.received_at,
    C.thread_id,
    C.parent_id,
)
BY_ID = select(*COLUMNS).where(C.id.in_(bindparam("ids", expanding=True)))
# A Thread row as the store writes it (besides its id).
FIELDS = (
    "consultation_id",
    "topic",
    "title",
    "subject_key",
    "root_contribution_id",
    "root_message_id",
    "messages",
    "participants",
    "first_date",
    "last_date",
    "last_activity",
)
# (b) reads each thread's row with its members, so writing the result reads it no more (an
# outer join: a member whose thread row is gone is still a member).
BY_THREAD = (
    select(*COLUMNS, T.id.label("t_id"), *(T[name].label(f"t_{name}") for name in FIELDS))
    .select_from(Contribution.__table__.outerjoin(Thread.__table__, T.id == C.thread_id))  # type: ignore[attr-defined]
    .where(C.thread_id.in_(bindparam("ids", expanding=True)))
)


class Component(dict[int, Member]):
    """The component's rows by id, and the Thread rows its search read (by id)."""

    threads: dict[int, dict[str, Any]]


def chunks(items: Iterable[Any]) -> Iterable[list[Any]]:
    ordered = sorted(items)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def named_ids(c: Member) -> list[str]:
    """The Message-IDs a contribution names (References and In-Reply-To), as indexed."""
    ids = [*(c.references or ()), *((c.in_reply_to,) if c.in_reply_to else ())]
    return list(dict.fromkeys(i[:MSGID_LENGTH] for i in ids if i))


def when(c: Member) -> datetime:
    """The date threading sorts by: the sent date, else the received date (RFC 5256)."""
    return utc(c.sent_at or c.received_at)


@lru_cache(maxsize=4096)
def subject_key(subject: str, mode: str) -> str:
    """What subject merging compares in ``mode`` (cut to the indexed length); '' for none.
    Kept: a thread's subjects are keyed again for each reply that joins it."""
    if mode == "references":
        return ""
    base, _ = base_subject_and_flag(subject, extra_prefixes=mode == "consultation")
    return casemap(base)[:KEY_LENGTH]


def window_of(config: Threads) -> timedelta | None:
    if config.mode != "consultation" or not config.window_days:
        return None
    return timedelta(days=config.window_days)


def component(*, session: Session, start: Member, config: Threads) -> Component:
    """Every contribution whose threading the arrival of ``start`` can change."""
    # Read with Core, so without the ORM's autoflush: the session's pending changes are the
    # new contribution's own (filing flushed before its steps), and it is read from memory.
    assert start.id is not None
    search = _Search(session, start, config)
    frontier: list[Member] = [start]
    while frontier:
        found: list[Member] = []
        # (a) Shared Message-IDs: the ids it names and its own, both ways.
        own = {c.message_id for c in frontier if c.message_id}
        search.sharing(({i for c in frontier for i in named_ids(c)} | own), found)
        # (b) Whole threads of everything found.
        search.members({c.thread_id for c in (*frontier, *found) if c.thread_id is not None})
        # (c) Threads a subject merge could join, near enough in time (asked again only
        # when the rows brought new subjects or widened the dates).
        search.subjects()
        frontier = found + search.taken
        search.taken = []
    rows = Component(search.rows)
    rows.threads = search.threads
    return rows


class _Search:
    """The state of one component search: what is found, and what was already asked."""

    def __init__(self, session: Session, start: Member, config: Threads) -> None:
        assert start.id is not None
        self.session, self.conn = session, session.connection()
        self.cid = start.consultation_id
        self.mode, self.window = config.mode, window_of(config)
        self.by_topic = config.mode == "consultation"
        self.rows: dict[int, Member] = {start.id: start}
        self.taken: list[Member] = []  # found by (b) and (c) this round
        self.threads: dict[int, dict[str, Any]] = {}  # Thread rows read by (b)
        self.asked_ids: set[str] = set()
        self.asked_threads: set[int] = set()
        self.asked_shape: Shape | None = None
        # (c) for the rows found so far, asked in the same statement as the next (a): when
        # (a) and (b) find nobody new, as for most new messages and most rounds, (c) needs
        # no statement of its own.
        self.ahead: tuple[Shape, set[int]] | None = None

    def take(self, found: Iterable[Member], into: list[Member]) -> None:
        for c in found:
            if c.id is not None and c.id not in self.rows:
                self.rows[c.id] = c
                into.append(c)

    def sharing(self, ids: set[str], into: list[Member]) -> None:
        ids -= self.asked_ids
        self.asked_ids.update(ids)
        for chunk in chunks(ids):
            probe = probes.sharing(self.conn, chunk)
            shape = self._first_shape() if len(ids) <= CHUNK else None
            keys = probes.subject_keys(shape) if shape else {}
            if shape is not None and keys:
                more = probes.candidates(
                    self.conn, keys, shape, by_topic=self.by_topic, window=self.window
                )
                probe = probes.both(probe, more)
            hits, threads = probes.answer(self.conn, probe, self.cid)
            if shape is not None:
                self.ahead = (shape, probes.keep(threads, keys, self.by_topic))
            new = hits - self.rows.keys()
            if new:
                pending.write(self.session, ids=new)  # the rows as they are, links included
                self.take(self.conn.execute(BY_ID, {"ids": sorted(new)}), into)

    def _first_shape(self) -> Shape | None:
        """The rows' subject shape, when (c) can be asked with this (a): (c) has not been
        asked for it yet. When (a) and (b) find no new rows, as for most rounds, `subjects`
        then needs no statement of its own."""
        if self.mode == "references":
            return None
        shape = _subject_shape(self.rows.values(), self.mode)
        if shape == self.asked_shape or (self.ahead is not None and self.ahead[0] == shape):
            return None
        return shape

    def members(self, thread_ids: set[int]) -> None:
        thread_ids = thread_ids - self.asked_threads
        self.asked_threads.update(thread_ids)
        if thread_ids:  # every member's link in the database first
            pending.write(self.session, threads=thread_ids)
        for chunk in chunks(thread_ids):
            found = self.conn.execute(BY_THREAD, {"ids": chunk}).all()
            for row in found:
                if row.t_id is not None and row.t_id not in self.threads:
                    values = row._mapping
                    self.threads[row.t_id] = {"id": row.t_id} | {
                        name: values[f"t_{name}"] for name in FIELDS
                    }
            self.take(found, self.taken)

    def subjects(self) -> None:
        if self.mode == "references":
            return
        shape = _subject_shape(self.rows.values(), self.mode)
        if shape == self.asked_shape:
            return
        self.asked_shape = shape
        if self.ahead is not None and self.ahead[0] == shape:
            self.members(self.ahead[1])
            return
        keys = probes.subject_keys(shape)
        found: set[int] = set()
        for chunk in chunks(keys):
            part = {k: keys[k] for k in chunk}
            probe = probes.candidates(
                self.conn, part, shape, by_topic=self.by_topic, window=self.window
            )
            found |= probes.keep(probes.answer(self.conn, probe, self.cid)[1], part, self.by_topic)
        self.members(found)


def _subject_shape(rows: Iterable[Member], mode: str) -> Shape:
    """The (subject key, topic) pairs of the rows and the span of their dates."""
    rows = list(rows)
    keys = frozenset((subject_key(c.subject, mode), c.topic) for c in rows)
    dates = [when(c) for c in rows]
    return keys, min(dates), max(dates)
