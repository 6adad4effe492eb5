"""What may be published: the published contributions, their thread trees, read in streams.

Only rows with status "published" are ever read here, so held, deferred, rejected, refused
and withdrawn contributions cannot leak into the archive, the feeds or an export.

Threads: `Contribution.thread_id` / `parent_id` when the threading step set them; a row
without a thread_id hangs under the nearest published message its In-Reply-To/References
name (so an archive imported from an mbox groups the same way); otherwise it is its own
thread. A parent that is not published is skipped over to its nearest published ancestor.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.clock import utc
from mailbot.conversation.lists import clean_list_id
from mailbot.models import Contribution
from mailbot.privacy.shown import author_column, public_clause

PUBLISHED = "published"
C = Contribution.__table__.c  # type: ignore[attr-defined]


@dataclass(slots=True)
class Entry:
    """What every page needs to know about one published contribution (no text)."""

    id: int
    ref: str
    topic: str
    subject: str
    author: str | None  # None: anonymous
    language: str
    received_at: datetime
    late: bool
    participant_id: int
    sha256: str
    via_list: str | None = None  # the id of the mailing list that delivered it, cleaned
    thread: str = ""  # the ref of the thread's first message
    parent: str | None = None  # ref of the published message it answers
    depth: int = 0
    children: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ThreadInfo:
    key: str  # ref of its first message: the thread page is t/<key>.html
    topic: str
    title: str
    refs: list[str]  # in tree order
    start: datetime
    last: datetime

    @property
    def replies(self) -> int:
        return len(self.refs) - 1


@dataclass
class Plan:
    """Every published contribution's place: by ref, and the threads in order of start."""

    entries: dict[str, Entry]
    threads: list[ThreadInfo]

    def topic_threads(self, topic: str) -> list[ThreadInfo]:
        return [t for t in self.threads if t.topic == topic]

    def topic_entries(self, topic: str | None) -> Iterator[Entry]:
        """Published entries in arrival (id) order, optionally of one topic."""
        for entry in self.entries.values():
            if topic is None or entry.topic == topic:
                yield entry


def _thread_titles(session: Session, ids: set[int], shown: set[int]) -> dict[int, str]:
    """Titles from the threading area's Thread table, when it exists and has one (only
    of a root that is itself shown: a confidential root's subject is not published)."""
    try:
        from mailbot.threads import models as thread_models
    except ImportError:
        return {}
    model: Any = getattr(thread_models, "Thread", None)
    table = getattr(model, "__table__", None)
    if table is None or not ids:
        return {}
    column = next((table.c[n] for n in ("title", "subject") if n in table.c), None)
    if column is None:
        return {}
    titles: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        root = table.c.root_contribution_id
        query = select(table.c.id, column, root).where(table.c.id.in_(chunk))
        for tid, title, root_id in session.execute(query):
            if title and (root_id is None or root_id in shown):
                titles[tid] = str(title)
    return titles


def plan(*, session: Session, consultation_id: str) -> Plan:
    """Read the published rows' metadata (one streamed query) and lay out the threads."""
    query = (
        select(
            C.id,
            C.ref,
            C.topic,
            C.subject,
            author_column(C).label("author_name"),  # as the author chose to appear
            C.language,
            C.received_at,
            C.late,
            C.participant_id,
            C.text_sha256,
            C.via_list,
            C.thread_id,
            C.parent_id,
            C.message_id,
            C.in_reply_to,
            C.references,
        )
        .where(C.consultation_id == consultation_id, public_clause(C))
        .order_by(C.id)
    )
    by_id: dict[int, Entry] = {}
    thread_of: dict[int, int] = {}
    parent_of: dict[int, int] = {}
    headers: dict[int, tuple[str | None, Sequence[str]]] = {}
    by_msgid: dict[str, int] = {}
    for row in session.execute(query).yield_per(2000):
        by_id[row.id] = Entry(
            id=row.id,
            ref=row.ref,
            topic=row.topic,
            subject=row.subject,
            author=row.author_name,
            language=row.language,
            received_at=utc(row.received_at),
            late=bool(row.late),
            participant_id=row.participant_id,
            sha256=row.text_sha256,
            via_list=clean_list_id(row.via_list),
        )
        if row.thread_id is not None:
            thread_of[row.id] = row.thread_id
            if row.parent_id is not None:
                parent_of[row.id] = row.parent_id
        elif row.in_reply_to or row.references:
            headers[row.id] = (row.in_reply_to, tuple(row.references or ()))
        if row.message_id:
            by_msgid.setdefault(row.message_id, row.id)

    # Parents set by the threading step may point at unpublished rows: climb past them.
    unpublished = {
        cid: pid
        for cid, pid in session.execute(
            select(C.id, C.parent_id).where(
                C.consultation_id == consultation_id,
                ~public_clause(C),
                C.parent_id.is_not(None),
            )
        )
    }
    parents: dict[int, int] = {}
    for cid, first_parent in parent_of.items():
        seen = {cid}
        pid: int | None = first_parent
        while pid is not None and pid not in by_id and pid not in seen:
            seen.add(pid)
            pid = unpublished.get(pid)
        if pid is not None and pid in by_id and pid != cid:
            parents[cid] = pid
    for cid, (in_reply_to, references) in headers.items():
        for mid in (in_reply_to, *reversed(references)):
            found = by_msgid.get(mid) if mid else None
            if found is not None and found != cid:
                parents[cid] = found
                break
    return _layout(session, by_id, parents, thread_of)


def _layout(
    session: Session, by_id: dict[int, Entry], parents: dict[int, int], thread_of: dict[int, int]
) -> Plan:
    # Union-find: a thread is everything linked by a parent or sharing a thread_id.
    up: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while up.get(root, root) != root:
            root = up[root]
        while up.get(x, x) != root:
            up[x], x = root, up[x]
        return root

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            up[max(ra, rb)] = min(ra, rb)

    first_of_thread: dict[int, int] = {}
    for cid, tid in thread_of.items():
        union(cid, first_of_thread.setdefault(tid, cid))
    for cid, pid in parents.items():
        union(cid, pid)
    groups: dict[int, list[int]] = {}
    for cid in by_id:
        groups.setdefault(find(cid), []).append(cid)

    titles = _thread_titles(session, set(thread_of.values()), set(by_id))
    threads: list[ThreadInfo] = []
    for members in groups.values():
        infos = _tree(members, by_id, parents)
        first = by_id[infos[0]]
        thread_id = thread_of.get(first.id)
        title = "" if thread_id is None else titles.get(thread_id, "")
        refs = [by_id[i].ref for i in infos]
        for i in infos:
            by_id[i].thread = first.ref
        threads.append(
            ThreadInfo(
                key=first.ref,
                topic=first.topic,
                title=title or first.subject,
                refs=refs,
                start=first.received_at,
                last=max(by_id[i].received_at for i in infos),
            )
        )
    threads.sort(key=lambda t: (t.start, t.key))
    return Plan(entries={e.ref: e for e in by_id.values()}, threads=threads)


def _tree(members: list[int], by_id: dict[int, Entry], parents: dict[int, int]) -> list[int]:
    """Depth-first order: top-level messages, then each one's replies, oldest first."""
    member_set = set(members)

    def when(i: int) -> tuple[datetime, int]:
        return (by_id[i].received_at, i)

    kids: dict[int, list[int]] = {}
    tops: list[int] = []
    for i in members:
        p = parents.get(i)
        (kids.setdefault(p, []) if p in member_set and p is not None else tops).append(i)
    order: list[int] = []
    seen: set[int] = set()
    stack = [(i, 0) for i in sorted(tops, key=when, reverse=True)]
    while stack:
        i, depth = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        order.append(i)
        entry = by_id[i]
        entry.depth = depth
        p = parents.get(i)
        entry.parent = by_id[p].ref if p is not None and p in member_set else None
        children = sorted(kids.get(i, []), key=when)
        entry.children = [by_id[c].ref for c in children]
        stack.extend((c, depth + 1) for c in reversed(children))
    # A parent cycle leaves members unreached: show them at the top level, oldest first.
    for i in sorted(member_set - seen, key=when):
        by_id[i].depth, by_id[i].parent = 0, None
        order.append(i)
    return order


def bodies(*, session: Session, ids: Sequence[int]) -> dict[int, Any]:
    """The text, sanitisable HTML and attachments of some contributions (one query)."""
    query = select(C.id, C.text, C.html, C.attachments, C.sent_at, C.message_id).where(
        C.id.in_(list(ids)), public_clause(C)
    )
    return {row.id: row for row in session.execute(query)}


def raw_messages(
    *, session: Session, consultation_id: str, topic: str | None = None
) -> Iterator[Any]:
    """What the mbox export may hold of public contributions, oldest first: the parsed
    record, never the raw bytes (their headers carry addresses; `privacy.mbox` writes it)."""
    query = (
        select(
            C.ref,
            C.topic,
            C.subject,
            author_column(C).label("author"),
            C.language,
            C.text,
            C.message_id,
            C.in_reply_to,
            C.references,
            C.sent_at,
            C.received_at,
        )
        .where(C.consultation_id == consultation_id, public_clause(C))
        .order_by(C.id)
    )
    if topic:
        query = query.where(C.topic == topic)
    yield from session.execute(query).yield_per(200)


def texts(*, session: Session, consultation_id: str, topic: str | None = None) -> Iterator[Any]:
    """(id, text) of published contributions, oldest first."""
    query = (
        select(C.id, C.ref, C.text)
        .where(C.consultation_id == consultation_id, public_clause(C))
        .order_by(C.id)
    )
    if topic:
        query = query.where(C.topic == topic)
    yield from session.execute(query).yield_per(500)
