"""mail-parser-reply driven with our patterns (mailbot.conversation.newtext) gives the reply
the library gives when it runs its own: on real mail, client replies and headers anywhere."""

from __future__ import annotations

import re
import re._parser as sre_parse  # the pattern's structure: where each alternative starts

import pytest

from mailbot.conversation.newtext import _LIBRARY_HEADERS, LIBRARY, MAX_SPLIT, _library_reply
from mailbot.parse import parse
from tests.conversation.client_replies import CLIENT_REPLIES
from tests.hostile.hostile_corpus import corpus_inputs
from tests.support import corpus_dir


def _starts(node: list[tuple[object, object]]) -> set[str]:
    """How a pattern can start: 'line' (^), 'newline' (a literal \\n), or 'other'."""
    if not node:
        return {"other"}
    op, arg = node[0]
    name = str(op)
    if name == "AT" and str(arg) == "AT_BEGINNING":  # "^": a line start under MULTILINE
        return {"line"}
    if name == "LITERAL" and arg == ord("\n"):
        return {"newline"}
    if name == "BRANCH":
        return set().union(*(_starts(list(b)) for b in arg[1]))  # type: ignore[index]
    if name == "SUBPATTERN":
        return _starts(list(arg[3]))  # type: ignore[index]
    if name == "MAX_REPEAT" and arg[0] >= 1:  # type: ignore[index]
        return _starts(list(arg[2]))  # type: ignore[index]
    return {"other"}


def test_every_header_the_library_knows_starts_a_line_or_at_a_line_break() -> None:
    assert _LIBRARY_HEADERS.flags & re.MULTILINE
    tree = sre_parse.parse(_LIBRARY_HEADERS.pattern, _LIBRARY_HEADERS.flags)
    assert _starts(list(tree)) <= {"line", "newline"}
    assert _starts(list(sre_parse.parse("a|^b"))) == {"other", "line"}  # the check can fail


def _texts() -> list[str]:
    _, _, messages = corpus_inputs(corpus_dir())
    texts = [parse(raw).text[:MAX_SPLIT] for raw in messages.values()]
    texts += [body for _, body, _, _ in CLIENT_REPLIES]
    header = "From: Ana <a@example.org>\nSent: Monday\nTo: b@example.org\nSubject: x\n"
    for text in list(texts[:200]):
        middle = len(text) // 2
        texts.append(text[:middle] + "\n" + header + text[middle:])
        texts.append(text[:middle] + header + text[middle:])  # mid-line: no header there
        texts.append(f"{text[:middle]}\nOn Monday, Ana wrote:\n> {text[middle:]}")
    return texts


def test_the_library_driven_cheaply_finds_the_reply_it_finds_itself() -> None:
    texts = _texts()
    differ = [t[:80] for t in texts if _library_reply(t) != LIBRARY.parse_reply(text=t)]
    assert len(texts) > 1500
    assert differ == []


@pytest.mark.parametrize("text", ["", "\n\n", "From: a\nTo: b\n", "-----Original Message-----"])
def test_edge_texts(text: str) -> None:
    assert _library_reply(text) == LIBRARY.parse_reply(text=text)
