"""parse() drives mail-parser and the stdlib more cheaply than their defaults: what it skips
must not change what it reads. Checked against the full paths on real mail (../shared/corpus)
and on address headers of every shape."""

from __future__ import annotations

import random
from dataclasses import replace
from email import message_from_bytes
from email.policy import compat32
from email.utils import getaddresses, parseaddr

import mailparser

from mailbot.headers import addresses_in, read_from, simple_mailbox
from mailbot.parse import _Bodies, parse
from tests.hostile.hostile_corpus import corpus_inputs
from tests.support import RANDOM_NAME, corpus_dir


def _bodies(parser: mailparser.MailParser) -> tuple[object, ...]:
    atts = [
        (
            "" if RANDOM_NAME.match(a["filename"] or "") else a["filename"],
            a["mail_content_type"],
            a["payload"],
            a["binary"],
        )
        for a in parser.attachments
    ]
    return parser.text_plain, parser.text_html, atts


def test_mail_parser_walk_without_header_reports_reads_the_same_parts() -> None:
    _, _, messages = corpus_inputs(corpus_dir())
    assert len(messages) > 900
    differ = []
    for path, raw in messages.items():
        try:
            full = _bodies(mailparser.MailParser(message=message_from_bytes(raw, policy=compat32)))
        except Exception:  # parse() walks the tree itself then: nothing to compare
            continue
        cheap = _bodies(_Bodies(message=message_from_bytes(raw, policy=compat32)))
        if cheap != full:
            differ.append(path)
    assert differ == []


def test_the_header_reports_are_really_skipped() -> None:
    raw = b"From: A <a@example.org>\r\nTo: b@example.org\r\nDate: x\r\n\r\nbody\r\n"
    cheap = _Bodies(message=message_from_bytes(raw, policy=compat32))
    assert cheap.text_plain == ["body\r\n"]
    assert cheap.mail == {}  # not built
    assert mailparser.MailParser(message=message_from_bytes(raw, policy=compat32)).mail


ATOMS = ["ana", "Jos", "=?utf-8?q?Jos=C3=A9?=", "o'neil", "x+tag", "a_b", "Z9", "{}", "~!"]
ODD = ['"', "(", ")", ",", ".", ";", ":", "\\", "[", "]", "é", "\t", "  ", "@", "<", ">", ""]


def _random_header(rng: random.Random) -> str:
    def word() -> str:
        text = rng.choice(ATOMS)
        return text + rng.choice(ODD) if rng.random() < 0.15 else text

    def address() -> str:
        local = ".".join(word() for _ in range(rng.randint(1, 2)))
        return f"{local}@{word()}.{rng.choice(['org', 'example.org'])}"

    def mailbox() -> str:
        shape = rng.randint(0, 2)
        if shape == 0:
            return address()
        name = " ".join(word() for _ in range(rng.randint(0, 3)))
        return f"{name}{rng.choice(['', ' ', '  '])}<{address()}>"

    return rng.choice([",", ", ", " , "]).join(mailbox() for _ in range(rng.randint(1, 3)))


def test_simple_mailboxes_read_as_the_stdlib_reads_them() -> None:
    rng = random.Random(11)
    simple = 0
    for _ in range(5000):
        value = _random_header(rng)
        if (pair := simple_mailbox(value)) is not None:
            simple += 1
            assert pair == parseaddr(value), value
        expected = tuple(a.strip().lower() for _, a in getaddresses([value]) if "@" in a)
        assert addresses_in([("to", value)], "to") == expected, value
        if pair is not None:
            assert read_from(value)[1] == pair[1].lower(), value
    assert 1000 < simple < 5000  # both paths were taken


def test_addresses_outside_the_simple_shape_go_to_the_stdlib() -> None:
    for value in (
        '"Doe, Jane" <jane@example.org>',
        "jane@example.org (Jane Doe)",
        "Jane.Doe <jane@example.org>",
        "undisclosed-recipients:;",
        "<@route:jane@example.org>",
        "josé@example.org",
        "a@example.org,,b@example.org",
    ):
        assert simple_mailbox(value) is None
        expected = tuple(a.strip().lower() for _, a in getaddresses([value]) if "@" in a)
        assert addresses_in([("cc", value)], "cc") == expected


def test_a_simple_from_header() -> None:
    assert read_from("=?utf-8?q?Jos=C3=A9?=  P <Jose@Example.org>") == (
        "José P",
        "jose@example.org",
        None,
    )
    assert read_from("jose@example.org") == ("", "jose@example.org", None)


def test_headers_by_name_keep_order_and_first_value() -> None:
    mail = parse(
        b"Received: one\r\nFrom: a@example.org\r\nreceived: two\r\nX-Loop: =?utf-8?q?x=C3=A9?=\r\n"
        b"\r\nbody\r\n"
    )
    assert mail.header("RECEIVED") == "one"
    assert mail.header_all("Received") == ("one", "two")
    assert mail.header("x-loop") == "xé"
    assert mail.header("list-id") is None and mail.header_all("list-id") == ()
    moved = replace(mail, headers=(("list-id", "<l.example.org>"),))  # a new index, not the old
    assert moved.header("list-id") == "<l.example.org>" and moved.header("received") is None
