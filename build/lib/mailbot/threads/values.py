"""The values threading takes and returns: ThreadInput in, ThreadNode trees out."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

NO_DATE = float("-inf")  # sorts first, as Dovecot's date 0 does


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


def timestamp(date: datetime | None) -> float:
    if date is None:
        return NO_DATE
    if date.tzinfo is None:
        # A naive date is taken as UTC, so naive and aware inputs can mix.
        date = date.replace(tzinfo=UTC)
    return date.timestamp()
