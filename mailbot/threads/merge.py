"""RFC 5256 step (5), subject merging of roots: the subject table, then the merge.

`algo._finish_references` calls these with the roots sorted by date and a function giving
each root's subject key; in ``consultation`` mode a ``limit`` (seconds) starts a new group
when a root comes too long after the last message on its subject.
"""

from __future__ import annotations

from collections.abc import Callable

from mailbot.threads.links import Links
from mailbot.threads.values import NO_DATE


def subject_table(
    roots: list[int],
    node_msg: list[int],
    root_subject: Callable[[int], tuple[object, bool, float, float] | None],
    limit: float | None,
) -> tuple[dict[int, int], dict[int, bool]]:
    """(5)(B)-(C): the subject table. Each root either becomes the table entry for its
    subject or points at it (``up``); the merge follows the pointers."""
    table: dict[object, int] = {}
    last_seen: dict[object, float] = {}
    up: dict[int, int] = {}
    is_reply: dict[int, bool] = {}
    for root in roots:
        found = root_subject(root)
        if found is None:
            continue
        key, reply, start, newest = found
        entry = table.get(key)
        if limit is not None:
            if entry is not None and (start == NO_DATE or not start - last_seen[key] <= limit):
                # Too long after the last message on this subject, or no date to tell:
                # start a new group.
                entry = None
            last_seen[key] = max(newest, last_seen[key]) if entry is not None else newest
        if entry is None:
            table[key] = root
        elif node_msg[entry] >= 0 and (node_msg[root] < 0 or (is_reply[entry] and not reply)):
            # A ghost, or the original rather than a reply, heads the group.
            up[entry] = root
            table[key] = root
        else:
            up[root] = entry
        is_reply[root] = reply
    return up, is_reply


def merge_groups(
    links: Links,
    kids: dict[int, list[int]],
    roots: list[int],
    up: dict[int, int],
    is_reply: dict[int, bool],
) -> tuple[set[int], list[int]]:
    """(5)(D)-(E): merge each root into the head of its group, in date order; returns the
    roots merged away and the new ghost roots."""
    node_msg = links.node_msg
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
            kids.setdefault(head, []).append(cur)
            merged.add(cur)
        else:
            # Two originals (or two replies): siblings under a new ghost.
            dummy = links.add(-1, None)
            kids[dummy] = [head, cur]
            up[head] = dummy
            merged.update((head, cur))
            new_roots.append(dummy)
    return merged, new_roots
