"""Thread messages into conversations: JWZ / RFC 5256 REFERENCES, pure and in memory.

``thread()`` takes the header facts of a set of messages and returns every
thread as a tree, plus each message's parent and thread. No database, no I/O:
storage calls it with rows, tests with mbox files, the bench with generated
data. Five modes:

- ``references``: headers only (References, else In-Reply-To), no subject
  merging; threads ordered by their latest message, like Dovecot's THREAD=REFS.
- ``rfc5256``: the RFC 5256 REFERENCES algorithm, subject merging of roots
  included, ordered by sent date; its answers equal Dovecot's THREAD=REFERENCES.
- ``consultation``: rfc5256, but the subject fallback also knows other
  languages' reply prefixes and only joins roots of the same topic whose dates
  are within ``window``; messages are linked in sent-date order, so the result
  does not depend on the order they arrived in.
- ``notmuch``: the threads of ``references``, but each message hangs under
  what its In-Reply-To names, as notmuch shows threads (``alternates.py``).
- ``orderedsubject``: RFC 5256 ORDEREDSUBJECT, for comparison with servers.

Where the RFC leaves a choice open we do what Dovecot does (its source is the
reference we test against): a duplicate Message-ID keeps the first message and
gives the next one a fresh id; a message's own References beat links implied
by other messages; a link that would make a loop is not made; and step (4)
hangs every message under its nearest real ancestor, so ghosts (dummies) are
left only as roots, where they carry the Message-ID nobody has sent us yet.
Linking is in ``links.py``, step (5)'s subject merging in ``merge.py``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import timedelta
from typing import Literal

from mailbot.threads.alternates import notmuch_tree, ordered_subject
from mailbot.threads.links import Links, link_messages, prune
from mailbot.threads.merge import merge_groups, subject_table
from mailbot.threads.subject import base_subject_and_flag, casemap
from mailbot.threads.values import NO_DATE, ThreadInput, ThreadNode, ThreadResult, timestamp

Mode = Literal["references", "rfc5256", "consultation", "orderedsubject", "notmuch"]


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
    ``window`` limits subject merging in ``consultation`` mode only; None
    means no time limit.
    """
    keys = [m.key for m in messages]
    if len(set(keys)) != len(keys):
        raise ValueError("ThreadInput keys must be unique")
    stamps = [timestamp(m.date) for m in messages]
    if mode == "orderedsubject":
        return ordered_subject(messages, stamps)
    if mode == "consultation":
        # Link in sent-date order: the same set of messages then gives the same
        # threads whatever order they arrived in (Message-ID breaks date ties).
        order: Sequence[int] = sorted(
            range(len(messages)), key=lambda i: (stamps[i], messages[i].message_id or "", i)
        )
    else:
        order = range(len(messages))
    links = link_messages(messages, order)
    kids, roots = prune(links)
    if mode == "notmuch":
        return notmuch_tree(messages, stamps, _groups(links, kids, roots))
    if mode == "references":
        return _finish_refs(messages, stamps, links, kids, roots)
    return _finish_references(messages, stamps, links, kids, roots, mode, window)


def _finish_refs(
    messages: Sequence[ThreadInput],
    stamps: list[float],
    links: Links,
    kids: dict[int, list[int]],
    roots: list[int],
) -> ThreadResult:
    """THREAD=REFS: no subject merging; threads sorted by their latest message."""
    node_msg = links.node_msg
    latest = _latest_per_root(stamps, node_msg, kids, roots)
    # Dovecot ties go by the root's UID; a ghost root counts as UID 0.
    roots.sort(key=lambda r: (latest[r], node_msg[r]))
    return _build(messages, stamps, links, kids, roots)


def _finish_references(
    messages: Sequence[ThreadInput],
    stamps: list[float],
    links: Links,
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

    def root_subject(root: int) -> tuple[object, bool, float, float] | None:
        """(subject key, is a reply, first date, newest date) of a root's thread."""
        msg = messages[node_msg[root if node_msg[root] >= 0 else first_child(root)]]
        subject, reply = base_subject_and_flag(msg.subject, extra_prefixes=consultation)
        if not subject:
            return None
        key: object = (msg.topic, casemap(subject)) if consultation else casemap(subject)
        return key, reply, root_key(root)[0], latest.get(root, NO_DATE)

    up, is_reply = subject_table(roots, node_msg, root_subject, limit)
    merged, new_roots = merge_groups(links, kids, roots, up, is_reply)
    if merged:
        roots = [r for r in roots if r not in merged] + new_roots
        roots.sort(key=root_key)
    return _build(messages, stamps, links, kids, roots)


def _groups(links: Links, kids: dict[int, list[int]], roots: list[int]) -> list[list[int]]:
    """The message indices below each root: the threads, before any tree shape."""
    groups: list[list[int]] = []
    for root in roots:
        group: list[int] = []
        stack = [root]
        while stack:
            node = stack.pop()
            if links.node_msg[node] >= 0:
                group.append(links.node_msg[node])
            stack.extend(kids.get(node, ()))
        groups.append(group)
    return groups


def _latest_per_root(
    stamps: list[float], node_msg: list[int], kids: dict[int, list[int]], roots: list[int]
) -> dict[int, float]:
    """The date of the newest message in each root's thread (for the window)."""
    latest: dict[int, float] = {}
    for root in roots:
        best = NO_DATE
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
    links: Links,
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
