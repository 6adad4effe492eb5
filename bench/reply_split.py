"""Bench: the author's new text, hand-written rules vs mail-parser-reply vs the combination.

    .venv/bin/python bench/reply_split.py

On the talon fixtures of ../shared/corpus (the expected reply is "Hello" unless a
`*_reply_text` file says otherwise; signatures count as part of the reply there) and on the
hand-written client replies of tests/conversation/client_replies.py (EN/FR/ES/DE/PT, new text
without signature). Prints how many each splitter gets exactly right (whitespace folded),
and the time of each as a ratio against the hand-written rules.
"""

# ruff: noqa: E402  (the path fix below must come before the other imports)
from __future__ import annotations

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import re
import time
from collections.abc import Callable

from mailbot.conversation.newtext import _library_reply, cut_signature, split_text
from mailbot.conversation.quotes import unquoted_text
from mailbot.parse import parse
from tests.conversation.client_replies import CLIENT_REPLIES
from tests.support import CORPUS


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def talon_cases() -> list[tuple[str, str, str]]:
    root = CORPUS / "talon" / "tests" / "fixtures"
    cases = []
    for eml in sorted(root.rglob("*.eml")):
        expected_file = eml.with_name(eml.stem + "_reply_text")
        expected = expected_file.read_text() if expected_file.exists() else "Hello"
        cases.append((eml.name, parse(eml.read_bytes()).text, expected))
    return cases


SPLITTERS: dict[str, tuple[Callable[[str], str], Callable[[str], str]]] = {
    # name: (reply with signature, for talon; new text without signature, for the clients)
    "hand-written": (unquoted_text, lambda t: cut_signature(unquoted_text(t))[0]),
    "mail-parser-reply": (
        lambda t: _library_reply(t) or "",
        lambda t: cut_signature(_library_reply(t) or "")[0],
    ),
    "combined (kept)": (
        lambda t: "\n".join(x for x in (split_text(t).new, split_text(t).signature) if x),
        lambda t: split_text(t).new,
    ),
}


def main() -> None:
    talon = talon_cases()
    clients = [(name, body, new) for name, body, new, _ in CLIENT_REPLIES]
    base = 0.0
    for name, (reply, new) in SPLITTERS.items():
        split_text.cache_clear()
        started = time.perf_counter()
        talon_ok = [n for n, text, want in talon if norm(reply(text)) == norm(want)]
        client_ok = [n for n, body, want in clients if norm(new(body)) == norm(want)]
        elapsed = time.perf_counter() - started
        base = base or elapsed
        missed = [n for n, _, _ in talon + clients if n not in talon_ok + client_ok]
        print(
            f"{name:<18} talon {len(talon_ok)}/{len(talon)}  clients {len(client_ok)}/"
            f"{len(clients)}  time x{elapsed / base:.2f}  missed: {', '.join(missed) or '-'}"
        )


if __name__ == "__main__":
    main()
