"""Item 1: the sender's identity comes from the raw From header; only the display name is
decoded, and a From nobody can read is quarantined with the reason (never dropped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mailbot.clock import FrozenClock
from mailbot.models import Contribution, Participant
from tests.commands.commands_support import CHAIR, COMMANDS, CONTRIB, decisions, mail, outbox
from tests.security.security_support import raw_row, received, send, start_bot
from tests.support import CaptureRelay, wait_for

FORGED_CHAIR = "=?utf-8?q?chair=40caucus.example.org?= <attacker@evil.example>"


def test_item1_encoded_display_name_is_not_the_address(
    tmp_path: Path, database_url: str, relay: CaptureRelay, bot_factory: Any, clock: FrozenClock
) -> None:
    app, bot = start_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
    )
    send(bot.port, mail(sender="Ann <ann@example.org>", body="Open the group."), CONTRIB)
    assert wait_for(lambda: received(relay, CHAIR), timeout=30)
    notice = received(relay, CHAIR)[0]
    token = next(w for w in notice.get_content().split() if w.startswith("mbt."))
    # A forwarded notice's token with the chair's address only in an encoded display name.
    send(
        bot.port,
        mail(sender=FORGED_CHAIR, to=COMMANDS, subject="x", body=f"APPROVE WGIG-0001 {token}"),
        COMMANDS,
    )
    # The same disguise does not skip hold-first-time for a contribution.
    answer = send(bot.port, mail(sender=FORGED_CHAIR, body="I am the chair."), CONTRIB)
    assert answer.startswith("250")
    assert wait_for(lambda: len(decisions(app)) >= 3, timeout=30)
    with Session(app.engine) as s:
        statuses = dict(s.exec(select(Contribution.ref, Contribution.status)).all())
        people = set(s.exec(select(Participant.email)))
    assert statuses == {"WGIG-0001": "held", "WGIG-0002": "held"}
    assert CHAIR not in people and "attacker@evil.example" in people
    refused = next(d for d in decisions(app) if d.action == "approve")
    assert (refused.actor, refused.outcome) == ("attacker@evil.example", "refused")
    assert "not a moderator" in refused.reason


def test_item1_outlook_encoded_name_with_comma_is_filed_and_acknowledged(
    tmp_path: Path, database_url: str, relay: CaptureRelay, bot_factory: Any, clock: FrozenClock
) -> None:
    app, bot = start_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
        policy="post",
    )
    sender = "=?utf-8?q?M=C3=BCller=2C_Hans?= <hans@example.de>"
    assert send(bot.port, mail(sender=sender, body="Mehr Transparenz."), CONTRIB).startswith("250")
    assert wait_for(lambda: received(relay, "hans@example.de"), timeout=30), "no receipt"
    with Session(app.engine) as s:
        person = s.exec(select(Participant)).one()
        contribution = s.exec(select(Contribution)).one()
    assert person.email == "hans@example.de"
    assert contribution.author_name == "Müller, Hans"


def test_item1_unreadable_from_is_quarantined_with_the_reason(
    tmp_path: Path, database_url: str, relay: CaptureRelay, bot_factory: Any, clock: FrozenClock
) -> None:
    app, bot = start_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
        policy="post",
    )
    raw = mail(
        sender="=?utf-8?q?chair=40caucus.example.org?=",
        body="No address at all.",
        message_id="<unreadable@evil.example>",
    )
    assert send(bot.port, raw, CONTRIB).startswith("250")
    row = wait_for(
        lambda: (r := raw_row(app, "unreadable@evil.example")) and r.state != "new" and r,
        timeout=30,
    )
    assert row.state == "quarantined" and row.outcome == "quarantine"
    assert "unreadable From header" in (row.reason or "")
    assert outbox(app) == []
