"""Render thread trees in IMAP THREAD response syntax (RFC 5256 section 4).

``(1 2 (3 4)(5))``: a message followed by its only child is written flat, two
or more children each get parentheses, and a ghost root shows only its
children. The layout is Dovecot's, so our answer can be compared with a
server's as a string.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from mailbot.threads.values import ThreadNode, ThreadResult


def format_imap_thread(
    result: ThreadResult | Sequence[ThreadNode],
    numbers: Mapping[Hashable, int] | None = None,
) -> str:
    """The body of a ``* THREAD`` answer; ``numbers`` maps keys to message numbers.

    Without ``numbers`` the keys themselves must be the numbers.
    """
    threads = result.threads if isinstance(result, ThreadResult) else result

    def number(node: ThreadNode) -> str:
        key = node.key
        return str(numbers[key] if numbers is not None else key)

    out: list[str] = []
    # Explicit stack rather than recursion: a reply chain can be very deep.
    stack: list[str | tuple[Sequence[ThreadNode], bool]] = [(threads, True)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        nodes, at_root = item
        if len(nodes) == 1 and not at_root:
            only = nodes[0]
            out.append(number(only))
            if only.children:
                out.append(" ")
                stack.append((only.children, False))
            continue
        for node in reversed(nodes):
            if not node.children:
                stack.append(f"({number(node)})")
                continue
            stack.append(")")
            stack.append((node.children, False))
            stack.append("(" if node.is_ghost else f"({number(node)} ")
    return "".join(out)
