"""Thread shapes kept to compare with other software: ORDEREDSUBJECT and notmuch's tree.

Neither is how mailbot shows a consultation; they exist so tests can hold our
code against a server's or notmuch's exact answers.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from mailbot.threads.subject import subject_sort_key
from mailbot.threads.values import ThreadInput, ThreadNode, ThreadResult


def ordered_subject(messages: Sequence[ThreadInput], stamps: list[float]) -> ThreadResult:
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
    parents: dict[int, int | None] = {}
    for head, *rest in groups:
        parents[head] = None
        parents.update(dict.fromkeys(rest, head))
    return _result(messages, stamps, groups, parents)


def notmuch_tree(
    messages: Sequence[ThreadInput], stamps: list[float], groups: list[list[int]]
) -> ThreadResult:
    """notmuch's display tree (lib/thread.cc) over threads found by References.

    In each thread, oldest first: a message's parent is the message its
    In-Reply-To names (the last reference when it has none). Messages left
    over (and the oldest, if anything is left over) take the deepest message
    among their own references, depth counted in the In-Reply-To forest, ties
    by Message-ID as notmuch's term list sorts them; else they are top level.
    """
    parents: dict[int, int | None] = {}
    for group in groups:
        group.sort(key=lambda i: (stamps[i], i))
        by_id: dict[str, int] = {}
        for i in group:
            mid = messages[i].message_id
            if mid and mid not in by_id:
                by_id[mid] = i
        leftover = _by_in_reply_to(messages, group, by_id, parents)
        depth = _depths(group, leftover, parents)
        for i in leftover:
            parents[i] = _deepest_reference(messages[i], i, by_id, depth, parents)
    groups.sort(key=lambda g: (stamps[g[0]], g[0]))
    return _result(messages, stamps, groups, parents)


def _by_in_reply_to(
    messages: Sequence[ThreadInput],
    group: list[int],
    by_id: dict[str, int],
    parents: dict[int, int | None],
) -> list[int]:
    """Parent each message by its In-Reply-To (or last reference); the ones left over."""

    def reply_to(i: int) -> int | None:
        msg = messages[i]
        target = msg.in_reply_to or (msg.references[-1] if msg.references else None)
        found = by_id.get(target) if target else None
        return found if found != i else None

    leftover: list[int] = []
    for i in group[1:]:
        found = reply_to(i)
        if found is None:
            leftover.append(i)
        else:
            parents[i] = found
    first = group[0]
    found = reply_to(first)
    if not leftover or found is None:
        leftover.insert(0, first)
    else:
        parents[first] = found
    return leftover


def _depths(
    group: list[int], leftover: list[int], parents: dict[int, int | None]
) -> dict[int, int]:
    """Depth of each message in the In-Reply-To forest below the leftover messages."""
    kids: dict[int, list[int]] = {}
    for child in group:
        parent = parents.get(child)
        if parent is not None:
            kids.setdefault(parent, []).append(child)
    depth: dict[int, int] = {}
    stack = [(i, 0) for i in leftover]
    while stack:
        i, d = stack.pop()
        if i in depth:
            continue  # a cycle of In-Reply-To: notmuch's case too
        depth[i] = d
        stack.extend((c, d + 1) for c in kids.get(i, ()))
    return depth


def _deepest_reference(
    msg: ThreadInput,
    i: int,
    by_id: dict[str, int],
    depth: dict[int, int],
    parents: dict[int, int | None],
) -> int | None:
    refs = sorted(set(msg.references) | ({msg.in_reply_to} if msg.in_reply_to else set()))
    best: int | None = None
    for ref in refs:
        cand = by_id.get(ref)
        if cand is None or cand == i or _descends(parents, cand, i):
            continue
        if best is None or depth.get(cand, 0) > depth.get(best, 0):
            best = cand
    return best


def _descends(parents: dict[int, int | None], node: int, ancestor: int) -> bool:
    """Whether ``ancestor`` is above ``node`` (taking it as parent would loop)."""
    seen: set[int] = set()
    current: int | None = node
    while current is not None and current not in seen:
        if current == ancestor:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def _result(
    messages: Sequence[ThreadInput],
    stamps: list[float],
    groups: list[list[int]],
    parents: dict[int, int | None],
) -> ThreadResult:
    """Trees from a parent map; a thread with several tops gets a ghost root."""
    parent_of: dict[Hashable, Hashable | None] = {}
    thread_index: dict[Hashable, int] = {}
    threads: list[ThreadNode] = []
    for index, group in enumerate(groups):
        kids: dict[int, list[int]] = {}
        tops: list[int] = []
        for i in group:
            parent = parents.get(i)
            if parent is None:
                tops.append(i)
            else:
                kids.setdefault(parent, []).append(i)
        # Messages only reachable through a cycle (A and B each naming the
        # other) would vanish from the tree: the oldest of them becomes a top.
        order = _descendants(tops, kids)
        if len(order) < len(group):
            reached = set(order)
            for i in group:
                if i not in reached:
                    parents[i] = None
                    tops.append(i)
                    more = _descendants([i], kids)
                    order.extend(more)
                    reached.update(more)
        for i in group:
            parent = parents.get(i)
            parent_of[messages[i].key] = messages[parent].key if parent is not None else None
            thread_index[messages[i].key] = index
        by_date = lambda i: (stamps[i], i)  # noqa: E731
        built: dict[int, ThreadNode] = {}
        for i in reversed(order):  # children before parents, no recursion
            children = sorted(kids.get(i, ()), key=by_date)
            built[i] = ThreadNode(
                messages[i].key, messages[i].message_id, tuple(built.pop(c) for c in children)
            )
        top_nodes = [built[i] for i in sorted(tops, key=by_date)]
        threads.append(
            top_nodes[0] if len(top_nodes) == 1 else ThreadNode(None, None, tuple(top_nodes))
        )
    return ThreadResult(tuple(threads), parent_of, thread_index)


def _descendants(tops: list[int], kids: dict[int, list[int]]) -> list[int]:
    """``tops`` and everything below them, each parent before its children."""
    order: list[int] = []
    seen: set[int] = set()
    stack = list(tops)
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        order.append(i)
        stack.extend(kids.get(i, ()))
    return order
