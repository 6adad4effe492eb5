"""Thread messages into conversations: JWZ / RFC 5256 REFERENCES, pure and in memory.

``thread()`` takes the header facts of a set of messages and returns every
thread as a tree, plus each message's parent and thread. No database, no I/O:
storage calls it with rows, tests with mbox files, the bench with generated
data. Four modes:

- ``references``: headers only (References, else In-Reply-To), no subject
  merging; threads ordered by their latest message, like Dovecot's THREAD=REFS.
- ``rfc5256``: the RFC 5256 REFERENCES algorithm, subject merging of roots
  included, ordered by sent date; its answers equal Dovecot's THREAD=REFERENCES.
- ``consultation``: rfc5256, but the subject fallback also knows other
  languages' reply prefixes and only joins roots of the same topic whose dates
  are within ``window``; messages are linked in sent-date order, so the result
  does not depend on the order they arrived in.
- ``orderedsubject``: RFC 5256 ORDEREDSUBJECT, for comparison with servers.

Where the RFC leaves a choice open we do what Dovecot does (its source is the
reference we test against): a duplicate Message-ID keeps the first message and
gives the next one a fresh id; a message's own References beat links implied
by other messages; a link that would make a loop is not made; and step (4)
hangs every message under its nearest real ancestor, so ghosts (dummies) are
left only as roots, where they carry the Message-ID nobody has sent us yet.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from mailbot.threads.subject import base_subject_and_flag, casemap, subject_sort_key

Mode = Literal["references", "rfc5256", "consultation", "orderedsubject"]

_NO_DATE = float("-inf")  # sorts first, as Dovecot's date 0 does


@dataclass(frozen=True, slots=True)
class ThreadInput:
    """What threading needs to know about one message.

    ``key`` is the caller's id (a database id, an mbox index); Message-IDs are
    given without angle brackets; ``in_reply_to`` is its first valid id;
    ``date`` is the sent date, or the internal (received) date when the Date
    header is missing, as RFC 5256 says; ``topic`` matters in consultation mode.
    """

    key: Hashable
    message_id: str | None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    subject: str = ""
    date: datetime | None = None
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class ThreadNode:
    """One message in a thread tree, or a ghost (``key`` is None).

    A ghost root stands for a message we have not seen: ``message_id`` is the
    id that its children refer to. A ghost made by subject merging has none.
    """

    key: Hashable | None
    message_id: str | None
    children: tuple[ThreadNode, ...] = ()

    @property
    def is_ghost(self) -> bool:
        return self.key is None

    def walk(self) -> list[ThreadNode]:
        """This node and all below it, depth first, children in order."""
        out: list[ThreadNode] = []
        stack = [self]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children))
        return out


@dataclass(frozen=True, slots=True)
class ThreadResult:
    """Threads in RFC order, and for every input key its parent and thread."""

    threads: tuple[ThreadNode, ...]
    parent: Mapping[Hashable, Hashable | None]  # None: a root, or under a ghost root
    thread_index: Mapping[Hashable, int]  # position in ``threads``

    def thread_of(self, key: Hashable) -> ThreadNode:
        return self.threads[self.thread_index[key]]

    def groups(self) -> list[frozenset[Hashable]]:
        """The keys of each thread, in thread order (for order-free comparisons)."""
        out: list[set[Hashable]] = [set() for _ in self.threads]
        for key, index in self.thread_index.items():
            out[index].add(key)
        return [frozenset(group) for group in out]


def _timestamp(date: datetime | None) -> float:
    if date is None:
        return _NO_DATE
    if date.tzinfo is None:
        # A naive date is taken as UTC, so naive and aware inputs can mix.
        date = date.replace(tzinfo=UTC)
    return date.timestamp()


def thread(
    messages: Sequence[ThreadInput],
    *,
    mode: Mode = "consultation",
    window: timedelta | None = None,
) -> ThreadResult:
    """Thread ``messages``; their order is the mailbox order (sequence numbers).

    Sorting is by sent date, then by that order. In ``references`` and
    ``rfc5256`` modes messages are also linked in that order, as a server
    does, which decides conflicts (duplicates, contradicting References).
    """
    keys = [m.key for m in messages]
    if len(set(keys)) != len(keys):
        raise ValueError("ThreadInput keys must be unique")
    stamps = [_timestamp(m.date) for m in messages]
    if mode == "orderedsubject":
        return _ordered_subject(messages, stamps)
    if mode == "consultation":
        # Link in sent-date order: the same set of messages then gives the same
        # threads whatever order they arrived in (Message-ID breaks date ties).
        order: Sequence[int] = sorted(
            range(len(messages)), key=lambda i: (stamps[i], messages[i].message_id or "", i)
        )
    else:
        order = range(len(messages))
    links = _link(messages, order)
    kids, roots = _prune(links)
    if mode == "references":
        return _finish_refs(messages, stamps, links, kids, roots)
    return _finish_references(messages, stamps, links, kids, roots, mode, window)


@dataclass(slots=True)
class _Links:
    """The container graph of step (1): node i is message node_msg[i] or a ghost."""

    parent: list[int]
    node_msg: list[int]  # message index, or -1 for a ghost
    node_mid: list[str | None]  # Message-ID a ghost stands for


def _link(messages: Sequence[ThreadInput], order: Sequence[int]) -> _Links:
    """RFC 5256 step (1): containers for every id, linked by References."""
    parent: list[int] = []
    node_msg: list[int] = []
    node_mid: list[str | None] = []
    table: dict[str, int] = {}

    def link(p: int, c: int) -> None:
        # Make p the parent of c unless c already has one (the first claim wins)
        # or c is p or one of p's ancestors (a loop).
        if parent[c] >= 0:
            return
        x = p
        while x != c:
            x = parent[x]
            if x < 0:
                parent[c] = p
                return

    for i in order:
        msg = messages[i]
        mid = msg.message_id
        node = table.get(mid) if mid else None
        if node is None or node_msg[node] >= 0:
            # New id, no id, or a duplicate (keep the original; RFC 5256 and
            # JWZ: "the second gets a fresh unique id").
            node = len(parent)
            parent.append(-1)
            node_msg.append(i)
            node_mid.append(mid)
            if mid and mid not in table:
                table[mid] = node
        else:
            node_msg[node] = i  # a ghost we already knew becomes real
        refs = msg.references or ((msg.in_reply_to,) if msg.in_reply_to else ())
        last = -1
        for ref in refs:
            c = table.get(ref)
            if c is None:
                c = len(parent)
                parent.append(-1)
                node_msg.append(-1)
                node_mid.append(ref)
                table[ref] = c
                if last >= 0:
                    parent[c] = last  # a fresh ghost has no children: no loop
            elif last >= 0:
                link(last, c)
            last = c
        # (1)(C): the message's own last reference is its parent; a different
        # parent set by someone else's References is dropped (RFC: "probably
        # the result of a truncated References header").
        if parent[node] != last and parent[node] >= 0:
            parent[node] = -1
        if last >= 0:
            link(last, node)
    return _Links(parent, node_msg, node_mid)


def _prune(links: _Links) -> tuple[dict[int, list[int]], list[int]]:
    """Steps (2)-(4): roots, and every message under its nearest real ancestor.

    Ghosts below the root disappear and their children move up, as RFC 5256
    (4) says; a ghost root keeps every message below it. Returns the children
    of each node and the roots (real roots, then ghost roots with children).
    """
    parent, node_msg = links.parent, links.node_msg
    target = [-2] * len(parent)  # ghost -> nearest real ancestor, or its top ghost
    kids: dict[int, list[int]] = {}
    roots: list[int] = []
    ghost_roots: dict[int, None] = {}  # ordered set
    for node, msg in enumerate(node_msg):
        if msg < 0:
            continue
        p = parent[node]
        if p < 0:
            roots.append(node)
            continue
        if node_msg[p] < 0:
            path: list[int] = []
            x = p
            while True:
                if target[x] != -2:
                    t = target[x]
                    break
                if node_msg[x] >= 0:
                    t = x
                    break
                if parent[x] < 0:
                    t = x
                    ghost_roots[x] = None
                    break
                path.append(x)
                x = parent[x]
            for y in path:
                target[y] = t
            target[x] = t if node_msg[x] < 0 else -2
            p = t
        kids.setdefault(p, []).append(node)
    roots.extend(ghost_roots)
    return kids, roots


def _finish_refs(
    messages: Sequence[ThreadInput],
    stamps: list[float],
    links: _Links,
    kids: dict[int, list[int]],
    roots: list[int],
) -> ThreadResult:
    """THREAD=REFS: no subject merging; threads sorted by their latest message."""
    node_msg = links.node_msg
    latest: dict[int, float] = {}
    for root in roots:
        best = _NO_DATE
        stack = [root]
        while stack:
            node = stack.pop()
            msg = node_msg[node]
            if msg >= 0 and stamps[msg] > best:
                best = stamps[msg]
            stack.extend(kids.get(node, ()))
        latest[root] = best
    # Dovecot ties go by the root's UID; a ghost root counts as UID 0.
    roots.sort(key=lambda r: (latest[r], node_msg[r]))
    return _build(messages, stamps, links, kids, roots)


def _finish_references(
    messages: Sequence[ThreadInput],
    stamps: list[float],
    links: _Links,
    kids: dict[int, list[int]],
    roots: list[int],
    mode: Mode,
    window: timedelta | None,
) -> ThreadResult:
    """Step (5) subject merging of roots and step (6) sorting, as Dovecot does them."""
    node_msg = links.node_msg

    def node_key(node: int) -> tuple[float, int]:
        msg = node_msg[node]
        return (stamps[msg], msg)

    def first_child(node: int) -> int:
        return min(kids[node], key=node_key)

    # A ghost root with one child is replaced by it (the deferred part of (4)).
    roots = [r if node_msg[r] >= 0 or len(kids[r]) > 1 else kids[r][0] for r in roots]

    def root_key(root: int) -> tuple[float, int]:
        return node_key(root if node_msg[root] >= 0 else first_child(root))

    roots.sort(key=root_key)
    consultation = mode == "consultation"
    limit = window.total_seconds() if window is not None and consultation else None
    latest = _latest_per_root(stamps, node_msg, kids, roots) if limit is not None else {}

    # (5)(B)-(C): the subject table. Each root either becomes the table entry
    # for its subject or points at it (``up``); the merge follows the pointers.
    table: dict[object, int] = {}
    last_seen: dict[object, float] = {}
    up: dict[int, int] = {}
    is_reply: dict[int, bool] = {}
    for root in roots:
        ghost = node_msg[root] < 0
        msg = messages[node_msg[root if not ghost else first_child(root)]]
        subject, reply = base_subject_and_flag(msg.subject, extra_prefixes=consultation)
        if not subject:
            continue
        key: object = (msg.topic, casemap(subject)) if consultation else casemap(subject)
        entry = table.get(key)
        if limit is not None:
            start = root_key(root)[0]
            if entry is not None and (start == _NO_DATE or not start - last_seen[key] <= limit):
                # Too long after the last message on this subject, or no date
                # to tell: start a new group.
                entry = None
            last_seen[key] = max(latest[root], last_seen[key]) if entry is not None else latest[root]
        if entry is None:
            table[key] = root
        elif node_msg[entry] >= 0 and (ghost or (is_reply[entry] and not reply)):
            # A ghost, or the original rather than a reply, heads the group.
            up[entry] = root
            table[key] = root
        else:
            up[root] = entry
        is_reply[root] = reply

    # (5)(D)-(E): merge each root into the head of its group, in date order.
    merged: set[int] = set()
    new_roots: list[int] = []
    for cur in roots:
        if cur not in up or cur in merged:
            continue
        head = up[cur]
        while head in up:
            head = up[head]
        if node_msg[cur] < 0:
            # Both ghosts: the children of both become siblings.
            kids[head].extend(kids.pop(cur))
            merged.add(cur)
        elif node_msg[head] < 0 or (is_reply[cur] and not is_reply[head]):
            kids[head].append(cur)
            merged.add(cur)
        else:
            # Two originals (or two replies): siblings under a new ghost.
            ghost = len(links.parent)
            links.parent.append(-1)
            node_msg.append(-1)
            links.node_mid.append(None)
            kids[ghost] = [head, cur]
            up[head] = ghost
            merged.update((head, cur))
            new_roots.append(ghost)
    if merged:
        roots = [r for r in roots if r not in merged] + new_roots
        roots.sort(key=root_key)
    return _build(messages, stamps, links, kids, roots)


def _latest_per_root(
    stamps: list[float], node_msg: list[int], kids: dict[int, list[int]], roots: list[int]
) -> dict[int, float]:
    """The date of the newest message in each root's thread (for the window)."""
    latest: dict[int, float] = {}
    for root in roots:
        best = _NO_DATE
        stack = [root]
        while stack:
            node = stack.pop()
            msg = node_msg[node]
            if msg >= 0 and stamps[msg] > best:
                best = stamps[msg]
            stack.extend(kids.get(node, ()))
        latest[root] = best
    return latest


def _build(
    messages: Sequence[ThreadInput],
    stamps: list[float],
    links: _Links,
    kids: dict[int, list[int]],
    roots: list[int],
) -> ThreadResult:
    """Step (6)-(7): sort siblings by (date, mailbox order) and make the trees."""
    node_msg, node_mid = links.node_msg, links.node_mid

    def node_key(node: int) -> tuple[float, int]:
        msg = node_msg[node]
        return (stamps[msg], msg)

    parent_of: dict[Hashable, Hashable | None] = {}
    thread_index: dict[Hashable, int] = {}
    threads: list[ThreadNode] = []
    for index, root in enumerate(roots):
        # Iterative post-order: threads can be thousands of messages deep.
        built: dict[int, ThreadNode] = {}
        stack: list[tuple[int, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            children = kids.get(node)
            if not done and children:
                if len(children) > 1:
                    children.sort(key=node_key)
                stack.append((node, True))
                stack.extend((child, False) for child in children)
                continue
            msg = node_msg[node]
            child_nodes = tuple(built.pop(c) for c in children) if children else ()
            if msg < 0:
                built[node] = ThreadNode(None, node_mid[node], child_nodes)
                continue
            key = messages[msg].key
            built[node] = ThreadNode(key, messages[msg].message_id, child_nodes)
            thread_index[key] = index
            if children:
                for c in children:
                    parent_of[messages[node_msg[c]].key] = key
        tree = built[root]
        if tree.key is not None:
            parent_of[tree.key] = None
        else:
            for child in tree.children:
                parent_of[child.key] = None
        threads.append(tree)
    return ThreadResult(tuple(threads), parent_of, thread_index)


def _ordered_subject(messages: Sequence[ThreadInput], stamps: list[float]) -> ThreadResult:
    """RFC 5256 ORDEREDSUBJECT: one thread per base subject, replies flat."""
    subjects = [subject_sort_key(m.subject) for m in messages]
    order = sorted(range(len(messages)), key=lambda i: (subjects[i], stamps[i], i))
    groups: list[list[int]] = []
    for i in order:
        if groups and subjects[groups[-1][0]] == subjects[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    groups.sort(key=lambda g: (stamps[g[0]], g[0]))
    parent_of: dict[Hashable, Hashable | None] = {}
    thread_index: dict[Hashable, int] = {}
    threads: list[ThreadNode] = []
    for index, (head, *rest) in enumerate(groups):
        top = messages[head]
        children = tuple(ThreadNode(messages[i].key, messages[i].message_id) for i in rest)
        threads.append(ThreadNode(top.key, top.message_id, children))
        parent_of[top.key] = None
        thread_index[top.key] = index
        for i in rest:
            parent_of[messages[i].key] = top.key
            thread_index[messages[i].key] = index
    return ThreadResult(tuple(threads), parent_of, thread_index)
