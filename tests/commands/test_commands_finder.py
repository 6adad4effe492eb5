"""The finder: quoted text is never read for commands (real replies from talon's corpus)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbot.commands.finder import command_lines, find_commands, unquoted_text
from mailbot.parse import parse
from mailbot.road import default_road
from tests.support import corpus_dir

lookup = default_road().commands.lookup


def talon_replies() -> list[Path]:
    root = corpus_dir("talon", "tests", "fixtures")
    return [
        *sorted((root / "standard_replies").glob("*.eml")),
        root / "reply-quotations-share-block.eml",
    ]


def expected_reply(path: Path) -> str | None:
    if path.parent.name != "standard_replies":
        return None  # talon's label covers the standard replies only
    label = path.with_name(path.stem + "_reply_text")
    return label.read_text() if label.exists() else "Hello"


def test_unquoted_text_of_real_replies_is_the_reply_text() -> None:
    checked = 0
    for path in talon_replies():
        expected = expected_reply(path)
        if expected is None:
            continue
        got = unquoted_text(parse(path.read_bytes()).text)
        assert [x.rstrip() for x in got.splitlines()] == [
            x.rstrip() for x in expected.strip().splitlines()
        ], path.name
        checked += 1
    assert checked == 12


def with_quoted_command(path: Path, command: str) -> bytes:
    """The same reply with `command` written inside its quoted part, in every text part."""
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(("plain",))
    assert part is not None
    text = part.get_content()
    lines = text.split("\n")
    quoted = [i for i, line in enumerate(lines) if line.startswith(">")]
    if quoted:  # a ">" block: add the command as a quoted line inside it
        lines.insert(quoted[-1] + 1, f"> {command}")
    else:  # an "Original Message" / "From: ... Sent:" block: add it to the old message
        lines.append(command)
    part.set_content("\n".join(lines), charset="utf-8")
    if msg.is_multipart():  # drop the HTML twin, so the text part is what we read
        msg.set_payload([p for p in msg.get_payload() if p.get_content_type() == "text/plain"])  # type: ignore[union-attr]
    return msg.as_bytes()


@pytest.mark.parametrize("command", ["WITHDRAW WGIG-0001", "APPROVE WGIG-0001"])
def test_a_command_in_the_quoted_part_is_never_found(command: str) -> None:
    for path in talon_replies():
        raw = with_quoted_command(path, command)
        parsed = parse(raw)
        assert command in parsed.text, path.name  # really there...
        found = find_commands(parsed, lookup=lookup)
        assert found.commands == [], path.name  # ...and never read
        assert all(command not in line for line in command_lines(parsed.text)), path.name


def test_the_same_command_on_top_is_found() -> None:
    path = corpus_dir("talon", "tests", "fixtures", "standard_replies", "gmail.eml")
    raw = path.read_bytes().replace(b"Hello\n\nOn Mon", b"approve wgig-1\n\nOn Mon", 1)
    found = find_commands(parse(raw), lookup=lookup)
    assert [(c.command.name, c.args) for c in found.commands] == [("approve", ("wgig-1",))]


def _mail(subject: str, body: str) -> bytes:
    return (
        f"From: a@example.org\r\nTo: contrib-request@consult.example.org\r\n"
        f"Subject: {subject}\r\n\r\n{body}"
    ).encode()


def test_subject_aliases_signature_and_line_limit() -> None:
    body = "\n".join(
        ["AIDE", "estado WGIG-0002", "Retirer wgig-0003", "thanks for all"]
        + [f"line {i}" for i in range(12)]
        + ["-- ", "STATS"]
    )
    found = find_commands(
        parse(_mail("Re: Fwd: APROBAR WGIG-0042", body)), lookup=lookup, max_lines=10
    )
    assert [c.command.name for c in found.commands] == [
        "approve",
        "help",
        "status",
        "withdraw",
        "end",
    ]
    assert found.commands[0].source == "subject"
    assert found.not_understood == [f"line {i}" for i in range(6)]
    assert found.ignored == [f"line {i}" for i in range(6, 12)]  # beyond 10; STATS: signature


def test_outlook_and_french_spanish_german_attributions() -> None:
    for attribution in (
        "Le ven. 20 nov. 2026 à 12:00, Bot <contrib@x.org> a écrit :",
        "El vie, 20 nov 2026 a las 12:00, Bot (<contrib@x.org>) escribió:",
        "Am 20.11.2026 um 12:00 schrieb Bot <contrib@x.org>:",
    ):
        text = f"STATUS WGIG-0001\n\n{attribution}\n> WITHDRAW WGIG-0001\n"
        assert command_lines(text) == ["STATUS WGIG-0001"], attribution
    outlook = (
        "DEFER WGIG-0001\n\nFrom: Bot <contrib@x.org>\nSent: Friday, 20 November 2026\n"
        "To: chair\nSubject: held\n\nAPPROVE WGIG-0001\n"
    )
    assert command_lines(outlook) == ["DEFER WGIG-0001"]
    original = "STATS\n-----Original Message-----\nAPPROVE WGIG-0001\n"
    assert command_lines(original) == ["STATS"]
    # Quoted without ">" after an attribution: everything after is the old message.
    assert command_lines("TOPICS\nOn Fri, Bot wrote:\nAPPROVE WGIG-0001\n") == ["TOPICS"]
    # Bottom-posting (Thunderbird): new text after the quote is read.
    assert command_lines("On Fri, Bot wrote:\n> old\nHELP\n") == ["HELP"]


def test_case_insensitive_keywords_with_aliases() -> None:
    pairs = {
        "help": "aide",
        "topics": "Temas",
        "status": "STATUT",
        "withdraw": "retirar",
        "approve": "Approuver",
        "reject": "RECHAZAR",
        "language": "idioma",
        "subscribe": "abonner",
        "unsubscribe": "désabonner",
        "extend": "prorrogar",
        "stats": "estadísticas",
    }
    for name, word in pairs.items():
        cmd = lookup(word)
        assert cmd is not None and cmd.name == name, word
    assert lookup("hello") is None and lookup("") is None and lookup("--") is None
