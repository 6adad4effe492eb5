"""RFC 5256 REFERENCES steps (1)-(4): link containers by Message-ID, prune ghosts.

Where the RFC leaves a choice open this does what Dovecot does
(index-thread-links.c and index-thread-finish.c), because Dovecot is what we
test against: the first claim on a parent wins, a message's own last
reference beats a link implied by someone else's References, a link that
would close a loop is not made, and a duplicate Message-ID keeps the first
message and gives the next one a fresh id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mailbot.threads.values import ThreadInput


@dataclass(slots=True)
class Links:
    """The container graph of step (1): node i is message node_msg[i] or a ghost."""

    parent: list[int]
    node_msg: list[int]  # message index, or -1 for a ghost
    node_mid: list[str | None]  # Message-ID a ghost stands for

    def add(self, msg: int, mid: str | None) -> int:
        self.parent.append(-1)
        self.node_msg.append(msg)
        self.node_mid.append(mid)
        return len(self.parent) - 1

    def link(self, p: int, c: int) -> None:
        """Make p the parent of c unless c already has one (the first claim wins) or c is p
        or one of p's ancestors (a loop)."""
        if self.parent[c] >= 0:
            return
        x = p
        while x != c:
            x = self.parent[x]
            if x < 0:
                self.parent[c] = p
                return


def _node_for(links: Links, table: dict[str, int], i: int, mid: str | None) -> int:
    node = table.get(mid) if mid else None
    if node is not None and links.node_msg[node] < 0:
        links.node_msg[node] = i  # a ghost we already knew becomes real
        return node
    # New id, no id, or a duplicate (keep the original; RFC 5256 and JWZ: "the second gets
    # a fresh unique id").
    node = links.add(i, mid)
    if mid and mid not in table:
        table[mid] = node
    return node


def _chain(links: Links, table: dict[str, int], refs: Sequence[str]) -> int:
    """Link the References in order, each the parent of the next; the last one's node."""
    last = -1
    for ref in refs:
        c = table.get(ref)
        if c is None:
            c = table[ref] = links.add(-1, ref)
            if last >= 0:
                links.parent[c] = last  # a fresh ghost has no children: no loop
        elif last >= 0:
            links.link(last, c)
        last = c
    return last


def link_messages(messages: Sequence[ThreadInput], order: Sequence[int]) -> Links:
    """RFC 5256 step (1): containers for every id, linked by References."""
    links = Links([], [], [])
    table: dict[str, int] = {}
    for i in order:
        msg = messages[i]
        node = _node_for(links, table, i, msg.message_id)
        refs = msg.references or ((msg.in_reply_to,) if msg.in_reply_to else ())
        last = _chain(links, table, refs)
        # (1)(C): the message's own last reference is its parent; a different parent set by
        # someone else's References is dropped (RFC: "probably the result of a truncated
        # References header").
        if links.parent[node] != last and links.parent[node] >= 0:
            links.parent[node] = -1
        if last >= 0:
            links.link(last, node)
    return links


def prune(links: Links) -> tuple[dict[int, list[int]], list[int]]:
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
