"""A moderator approves by e-mail, end to end over the real listener and a capture relay."""

from __future__ import annotations

import smtplib
from pathlib import Path

from mailbot.clock import FrozenClock
from tests.commands.commands_support import (
    CHAIR,
    COMMANDS,
    CONTRIB,
    SECRETARIAT,
    decisions,
    mail,
    moderated_app,
    parse_out,
    quoting_reply,
    status,
)
from tests.support import CaptureRelay, wait_for


def send(port: int, raw: bytes, rcpt: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("sender@example.org", [rcpt], raw)


def to(relay: CaptureRelay, address: str, kind_subject: str = "") -> list:  # type: ignore[type-arg]
    return [
        parse_out(m.data)
        for m in relay.messages
        if address in m.rcpt_tos and kind_subject in str(parse_out(m.data)["Subject"])
    ]


def test_held_first_timer_approved_by_a_quoting_reply(
    tmp_path: Path,
    database_url: str,
    relay: CaptureRelay,
    bot_factory,
    clock: FrozenClock,  # type: ignore[no-untyped-def]
) -> None:
    app = moderated_app(database_url, tmp_path, clock, server={"relay": relay.url})
    bot = bot_factory(app)
    send(
        bot.port,
        mail(sender="Ann <ann@example.org>", body="Open the group to all regions."),
        CONTRIB,
    )
    # Held: each moderator gets the notice with one token per action; Ann hears nothing yet.
    assert wait_for(lambda: len(to(relay, CHAIR)) and len(to(relay, SECRETARIAT)), timeout=30)
    assert status(app, "WGIG-0001") == "held"
    (notice,) = to(relay, CHAIR)
    body = notice.get_content()
    assert "[WGIG-mod] WGIG-0001" in notice["Subject"] and "Open the group to all" in body
    for action in ("APPROVE", "REJECT", "DEFER", "REFILE"):
        assert any(line.startswith(f"{action} WGIG-0001 mbt.") for line in body.splitlines())
    assert notice["Reply-To"] == COMMANDS
    # Ann gets her receipt at once, saying it waits for a moderator (issue 18).
    assert wait_for(lambda: to(relay, "ann@example.org"), timeout=30), "no held receipt"
    (held,) = to(relay, "ann@example.org")
    assert "[WGIG-0001]" in held["Subject"]
    assert "waiting for a moderator" in held.get_content()

    # The chair hits "reply", writes APPROVE on top; the client quotes the notice below.
    send(bot.port, quoting_reply(notice, sender=CHAIR, top="APPROVE WGIG-0001\n\nThanks"), COMMANDS)
    assert wait_for(lambda: len(to(relay, "ann@example.org")) == 2, timeout=30), "no ack"
    ack = to(relay, "ann@example.org")[1]
    assert "[WGIG-0001]" in ack["Subject"] and "WGIG-0001" in ack.get_content()
    assert status(app, "WGIG-0001") == "published"
    assert wait_for(lambda: to(relay, CHAIR, "Results"), timeout=30)
    (results,) = to(relay, CHAIR, "Results")
    assert "WGIG-0001 is approved and published" in results.get_content()
    hold, approve = decisions(app)
    assert (hold.actor, hold.action, hold.outcome) == ("policy", "hold", "done")
    assert (approve.actor, approve.action, approve.item, approve.outcome) == (
        CHAIR,
        "approve",
        "WGIG-0001",
        "done",
    )
    assert approve.proof is not None and approve.proof.startswith("token:")


def test_a_vacation_reply_to_a_notice_executes_nothing(
    tmp_path: Path,
    database_url: str,
    relay: CaptureRelay,
    bot_factory,
    clock: FrozenClock,  # type: ignore[no-untyped-def]
) -> None:
    from sqlmodel import Session, select

    from mailbot.classify import classify
    from mailbot.models import RawMessage
    from mailbot.parse import parse

    app = moderated_app(database_url, tmp_path, clock, server={"relay": relay.url})
    bot = bot_factory(app)
    send(bot.port, mail(sender="ann@example.org", body="Open the group to all regions."), CONTRIB)
    assert wait_for(lambda: to(relay, CHAIR), timeout=30)
    (notice,) = to(relay, CHAIR)
    top = "I am away until Monday.\nAPPROVE WGIG-0001"  # even a command on top is not run
    replies = [
        quoting_reply(notice, sender=CHAIR, top=top, headers={"Auto-Submitted": "auto-replied"})
    ]
    other = [
        quoting_reply(notice, sender=CHAIR, top=top, headers={"X-Autoreply": "yes"}),
        mail(sender=CHAIR, to=COMMANDS, subject="Out of Office: APPROVE WGIG-0001", body=top),
    ]
    # Issue 7's auto-reply rules, when installed, catch these too.
    replies += [
        r
        for r in other
        if classify(parse(r), app.settings, rules=app.road.rules).kind == "autoreply"
    ]
    for raw in replies:
        send(bot.port, raw, COMMANDS)

    def processed() -> bool:
        # A 250'd reply may still be in the listener's spool (SQLite): every one stored, then done.
        with Session(app.engine) as s:
            rows = list(s.exec(select(RawMessage)))
        return len(rows) == 1 + len(replies) and all(r.state == "done" for r in rows)

    assert wait_for(processed, timeout=30)
    with Session(app.engine) as s:
        outcomes = [r.outcome for r in s.exec(select(RawMessage).order_by(RawMessage.id))]  # type: ignore[arg-type]
    assert outcomes[1:] == ["autoreply"] * len(replies)
    assert status(app, "WGIG-0001") == "held"
    assert [d.action for d in decisions(app)] == ["hold"]
    assert to(relay, CHAIR, "Results") == []
    # Ann has only her receipt saying the contribution waits (issue 18), nothing more.
    assert wait_for(lambda: to(relay, "ann@example.org"), timeout=30)
    assert [m["Subject"].startswith("Received") for m in to(relay, "ann@example.org")] == [True]
