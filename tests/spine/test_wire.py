"""The plain-text writer (mailbot.wire) gives the bytes compose.build + as_wire_bytes give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from mailbot import compose
from mailbot.compose import answer_headers, build, render
from mailbot.config import Settings
from mailbot.outbox import wire_of
from mailbot.wire import plain_wire
from tests.support import make_settings

LONG = "A subject long enough to be folded over several lines of a header " * 3
SUBJECTS = [
    "Receipt",
    "Accusé de réception : WGIG-0001",
    "Ответ на ваш вклад",
    "受付確認",
    LONG,
    "Long UTF-8 — " + "é" * 90,
    "=?utf-8?q?looks_encoded?= but is not",
    'quotes "and" (parens) <angle> @ signs, commas; semi: colons',
    "",
    "  spaces   inside  ",
    "x" * 120,
]
BODIES = [
    "Hello\nline two\n",
    "Héllo\nline two\n",
    "short\n" + "a line of more than seventy-eight characters, " * 3 + "\n",
    "é" * 80 + "\n",
    "\n".join(f"line {n} with ünïcode and enough words to pass the limit " * 2 for n in range(14)),
    "From the start\n.\n\r\nCR LF\rCR\n",
    "",
]
ADDRESSES = [
    ["ana@example.org"],
    ["jös@exämple.org"],
    ["ünï@例え.jp"],
    ["a.b+tag@sub.example.org", "bob@example.org"],
    ["o'brien@example.org"],
    ["x" * 70 + "@example.org"],
]
THREADS: list[tuple[str | None, tuple[str, ...]]] = [
    (None, ()),
    ("abc@x.org", ("r1@x", "r2@y")),
    ("ünï-id@exämple.org", ()),
    ("=?utf-8?q?odd?=@x", ("a b@c",)),
    ("m@x", tuple(f"ref-{n}-{'z' * 20}@lists.example.org" for n in range(8))),
]
NOWS = [
    datetime(2026, 12, 1, 20, 0, tzinfo=UTC),
    datetime(2026, 12, 1, 20, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 12, 1, 20, 0),
]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(compose, "new_message_id", lambda settings: "mailbot.fixed@consult")
    return make_settings("sqlite://", tmp_path / "var")


def both(settings: Settings, *, now: datetime, to: list[str], subject: str, body: str,
         lang: str = "en", in_reply_to: str | None = None, references: tuple[str, ...] = (),
         reply_to: str | None = None) -> tuple[object, object]:  # fmt: skip
    extra = {"Reply-To": reply_to} if reply_to else None
    threading = {"in_reply_to": in_reply_to, "references": references}
    headers = answer_headers(
        settings=settings, now=now, to=to, subject=subject, extra_headers=extra, **threading
    )
    fast = plain_wire(headers=headers, body=body, lang=lang, to=to)
    msg = build(settings=settings, now=now, to=to, subject=subject, body=body, lang=lang,
                extra_headers=extra, **threading)  # fmt: skip
    return fast, wire_of(msg)


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("body", BODIES)
def test_subjects_and_bodies(settings: Settings, subject: str, body: str) -> None:
    fast, slow = both(settings, now=NOWS[0], to=["ana@example.org"], subject=subject, body=body)
    assert fast == slow


@pytest.mark.parametrize("to", ADDRESSES)
@pytest.mark.parametrize("thread", THREADS)
@pytest.mark.parametrize("now", NOWS)
def test_addresses_threads_and_dates(
    settings: Settings, to: list[str], thread: tuple[str | None, tuple[str, ...]], now: datetime
) -> None:
    for subject in (SUBJECTS[0], SUBJECTS[1]):
        fast, slow = both(
            settings,
            now=now,
            to=to,
            subject=subject,
            body=BODIES[1],
            in_reply_to=thread[0],
            references=thread[1],
            reply_to="contrib-request@consult.example.org",
        )
        assert fast == slow


def test_a_rendered_receipt_takes_the_short_way(settings: Settings) -> None:
    context = {
        "ref": "WGIG-0001",
        "subject": "Idées",
        "topic_slug": "general",
        "topic_title": "General",
        "received": NOWS[0],
        "deadline": NOWS[0],
        "sha256": "0" * 64,
        "late": False,
        "status": "published",
        "needs_refile": False,
        "publication": "name",
        "organisation": None,
    }
    for lang in ("en", "fr"):
        subject, body = render(settings=settings, name="ack.txt", lang=lang, context=context)
        fast, slow = both(settings, now=NOWS[0], to=["ana@example.org"], subject=subject, body=body)
        assert fast is not None and fast == slow


def test_not_a_bare_address_takes_the_long_way(settings: Settings) -> None:
    to = ["Ana <ana@example.org>"]
    headers = answer_headers(settings=settings, now=NOWS[0], to=to, subject="Receipt")
    assert plain_wire(headers=headers, body="x\n", lang="en", to=to) is None


@pytest.mark.parametrize("length", range(64, 76))
def test_a_subject_at_the_folding_edge(settings: Settings, length: int) -> None:
    for subject in ("x" * length, ("word " * 20)[:length].strip()):
        fast, slow = both(settings, now=NOWS[0], to=["ana@example.org"], subject=subject, body="x")
        assert fast == slow
