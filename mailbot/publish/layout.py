"""The archive's thread trees, laid out from parent links: pure, no database.

`publish.store.plan` reads the published rows and their links; here they become threads. A
thread is everything linked by a parent or sharing a `thread_id` (union-find), shown in
depth-first order, oldest first. A parent that is not published is skipped over to its
nearest published ancestor; a row the threading step never saw (an mbox import) hangs under
the nearest published message its In-Reply-To/References name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass
class Links:
    """The published rows and how they point at each other, as `store.plan` read them."""

    by_id: dict[int, Entry] = field(default_factory=dict)
    thread_of: dict[int, int] = field(default_factory=dict)  # from the threading step
    parent_of: dict[int, int] = field(default_factory=dict)  # idem (may be unpublished)
    headers: dict[int, tuple[str | None, Sequence[str]]] = field(default_factory=dict)
    by_msgid: dict[str, int] = field(default_factory=dict)  # first published row per id


def published_parents(links: Links, unpublished: dict[int, int]) -> dict[int, int]:
    """Each row's nearest published parent: climbing past `unpublished` (id -> its parent)
    rows, or, for a row the threading step did not see, the newest one its headers name."""
    by_id = links.by_id
    parents: dict[int, int] = {}
    for cid, first_parent in links.parent_of.items():
        seen = {cid}
        pid: int | None = first_parent
        while pid is not None and pid not in by_id and pid not in seen:
            seen.add(pid)
            pid = unpublished.get(pid)
        if pid is not None and pid in by_id and pid != cid:
            parents[cid] = pid
    for cid, (in_reply_to, references) in links.headers.items():
        for mid in (in_reply_to, *reversed(references)):
            found = links.by_msgid.get(mid) if mid else None
            if found is not None and found != cid:
                parents[cid] = found
                break
    return parents


def layout(
    by_id: dict[int, Entry],
    parents: dict[int, int],
    thread_of: dict[int, int],
    titles: dict[int, str],
) -> Plan:
    """The threads in order of start, each in tree order; `titles` by thread id (the
    threading step's, else the first message's subject). Fills each entry's place."""
    threads: list[ThreadInfo] = []
    for members in _groups(by_id, parents, thread_of):
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


def _groups(
    by_id: dict[int, Entry], parents: dict[int, int], thread_of: dict[int, int]
) -> list[list[int]]:
    """Union-find: a thread is everything linked by a parent or sharing a thread_id."""
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
    return list(groups.values())


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
