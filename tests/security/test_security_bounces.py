"""Item 5: a bounce counts only when it concerns mail we sent to that address (it quotes our
Message-ID), once per bounce, decaying over time; a moderator can reset a score."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from mailbot.clock import FrozenClock
from mailbot.models import OutboxMessage, Participant
from tests.commands.commands_support import CHAIR, COMMANDS, CONTRIB, decisions, mail
from tests.security.security_support import received, send, start_bot
from tests.support import CaptureRelay, wait_for

BOUNCES = "contrib-bounces@consult.example.org"
MX = "mx.caucus.example.org"
_n = iter(range(1, 10**6))


def dsn(recipients: list[str], about: str | None) -> bytes:
    """A DSN as any MTA writes it; `about` is the Message-ID of the message it returns."""
    blocks = "".join(
        f"\r\nFinal-Recipient: rfc822; {r}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        for r in recipients
    )
    returned = f"Message-ID: <{about}>\r\n" if about else ""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        f"To: {BOUNCES}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn-{next(_n)}@mx.example.net>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n"
        f"{blocks}--B\r\nContent-Type: text/rfc822-headers\r\n\r\n{returned}"
        "Subject: Received: Idea\r\n--B--\r\n"
    ).encode()


def score(app: Any, address: str) -> float:
    with Session(app.engine) as s:
        return s.exec(select(Participant.bounce_score).where(Participant.email == address)).one()


def ack_id(app: Any, address: str) -> str:
    with Session(app.engine) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "ack")).all()
    return next(r.message_id for r in rows if address in r.recipients)


def bounced(app: Any, n: int) -> bool:
    from mailbot.hostile.models import BounceEvent

    with Session(app.engine) as s:
        return len({e.raw_id for e in s.exec(select(BounceEvent))}) >= n


@pytest.fixture
def bot(
    tmp_path: Path, database_url: str, relay: CaptureRelay, bot_factory: Any, clock: FrozenClock
) -> tuple[Any, Any, CaptureRelay, FrozenClock]:
    app, bot = start_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
        policy="post",
        trusted_authserv_ids=(MX,),
    )
    for who in ("ann@example.org", "bob@example.org"):
        send(bot.port, mail(sender=who, body="Open the group."), CONTRIB)
    assert wait_for(lambda: received(relay, "bob@example.org"), timeout=30)
    return app, bot, relay, clock


def test_item5_forged_bounce_without_our_message_id_scores_nothing(bot: Any) -> None:
    app, listener, relay, _ = bot
    send(listener.port, dsn(["ann@example.org"] * 5, about=None), BOUNCES, mail_from="")
    send(listener.port, dsn(["ann@example.org"], about="guess@consult.example.org"), BOUNCES, "")
    assert wait_for(lambda: bounced(app, 2), timeout=30)
    assert score(app, "ann@example.org") == 0
    # Ann still gets her next receipt.
    send(listener.port, mail(sender="ann@example.org", body="A second idea."), CONTRIB)
    assert wait_for(lambda: len(received(relay, "ann@example.org")) == 2, timeout=30)


def test_item5_one_score_per_bounce_only_for_the_recipient_it_concerns(bot: Any) -> None:
    app, listener, _, _ = bot
    about = ack_id(app, "ann@example.org")
    # Our receipt to Ann, returned; the DSN names Ann five times and Bob once.
    recipients = ["ann@example.org"] * 5 + ["bob@example.org"]
    send(listener.port, dsn(recipients, about=about), BOUNCES, mail_from="")
    assert wait_for(lambda: bounced(app, 1), timeout=30)
    assert score(app, "ann@example.org") == 1.0
    assert score(app, "bob@example.org") == 0  # our message returned was not to Bob


def test_item5_scores_decay_and_a_moderator_resets_them(bot: Any) -> None:
    app, listener, _, clock = bot
    about = ack_id(app, "ann@example.org")
    send(listener.port, dsn(["ann@example.org"], about=about), BOUNCES, mail_from="")
    assert wait_for(lambda: bounced(app, 1), timeout=30)
    assert score(app, "ann@example.org") == 1.0
    clock.advance(timedelta(days=28))  # two half-lives
    send(listener.port, dsn(["ann@example.org"], about=about), BOUNCES, mail_from="")
    assert wait_for(lambda: bounced(app, 2), timeout=30)
    assert score(app, "ann@example.org") == 1.25
    reset = mail(
        sender=CHAIR,
        to=COMMANDS,
        subject="BOUNCES RESET ann@example.org",
        body="",
        headers={"Authentication-Results": f"{MX}; dkim=pass header.d=caucus.example.org"},
    )
    send(listener.port, reset, COMMANDS)
    assert wait_for(lambda: [d for d in decisions(app) if d.action == "bounces"], timeout=30)
    (done,) = [d for d in decisions(app) if d.action == "bounces"]
    assert done.outcome == "done"
    assert score(app, "ann@example.org") == 0


def acks_to(app: Any, address: str) -> int:
    with Session(app.engine) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "ack")).all()
    return sum(1 for r in rows if address in r.recipients)


def refused(app: Any, address: str) -> bool:
    from mailbot.hostile.models import ReplyLog

    with Session(app.engine) as s:
        return bool(
            s.exec(
                select(ReplyLog)
                .where(ReplyLog.recipient == address)
                .where(ReplyLog.decision == "undeliverable")
            ).first()
        )


def test_item5_an_old_bounce_score_decays_and_mail_flows_again(bot: Any) -> None:
    app, listener, _, clock = bot
    about = ack_id(app, "ann@example.org")
    for n in range(1, 6):  # five genuine bounces of our receipt: the limit (5)
        send(listener.port, dsn(["ann@example.org"], about=about), BOUNCES, mail_from="")
        assert wait_for(lambda n=n: bounced(app, n), timeout=30)
    assert score(app, "ann@example.org") == 5.0
    send(listener.port, mail(sender="ann@example.org", body="A second idea."), CONTRIB)
    assert wait_for(lambda: refused(app, "ann@example.org"), timeout=30)
    assert acks_to(app, "ann@example.org") == 1  # over the limit: nothing more today
    clock.advance(timedelta(days=21))  # 1.5 half-lives: 5 -> 1.77, under the limit
    send(listener.port, mail(sender="ann@example.org", body="A third idea."), CONTRIB)
    assert wait_for(lambda: acks_to(app, "ann@example.org") == 2, timeout=30)
