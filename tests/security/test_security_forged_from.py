"""Item 8: what a forged From can no longer do. UNSUBSCRIBE and LANGUAGE ask the real address
to confirm; answers to unknown senders quote none of their text; References cannot re-parent
someone else's contribution; `config check` refuses the sample secret."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select
from typer.testing import CliRunner

from mailbot.cli import cli
from mailbot.clock import FrozenClock
from mailbot.config import PROJECT_DIR
from mailbot.models import Contribution, Participant
from tests.commands.commands_support import COMMANDS, CONTRIB, mail, outbox, quoting_reply
from tests.security.security_support import received, send, start_bot
from tests.support import CaptureRelay, wait_for

ANN = "ann@example.org"


def person(app: Any, address: str) -> Participant:
    with Session(app.engine) as s:
        return s.exec(select(Participant).where(Participant.email == address)).one()


def subscribed_ann(**kw: Any) -> tuple[Any, Any]:
    """Ann contributes and subscribes (confirming by reply), over SMTP."""
    app, bot = start_bot(policy="post", **kw)
    relay = kw["relay"]
    send(bot.port, mail(sender=ANN, body="Open the group."), CONTRIB)
    send(bot.port, mail(sender=ANN, to=COMMANDS, subject="SUBSCRIBE", body=""), COMMANDS)
    assert wait_for(lambda: received(relay, ANN, "CONFIRM"), timeout=30)
    confirm = received(relay, ANN, "CONFIRM")[0]
    send(bot.port, quoting_reply(confirm, sender=ANN, top=""), COMMANDS)
    assert wait_for(lambda: person(app, ANN).digest_subscribed, timeout=30)
    return app, bot


def test_item8_forged_unsubscribe_and_language_ask_the_real_address(
    tmp_path: Path, database_url: str, relay: CaptureRelay, bot_factory: Any, clock: FrozenClock
) -> None:
    app, bot = subscribed_ann(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
    )
    clock.advance(timedelta(hours=2))  # past the per-recipient answer limit
    before = len(received(relay, ANN, "CONFIRM"))
    forged = mail(sender=ANN, to=COMMANDS, subject="x", body="UNSUBSCRIBE\nLANGUAGE es")
    send(bot.port, forged, COMMANDS)
    assert wait_for(lambda: len(received(relay, ANN, "CONFIRM")) == before + 2, timeout=30)
    ann = person(app, ANN)
    assert ann.digest_subscribed and ann.language != "es"  # nothing changed without her
    # Ann herself confirms the unsubscription (she did want it, this time).
    confirm = next(m for m in received(relay, ANN, "CONFIRM") if "unsubscribe" in m["Subject"])
    send(bot.port, quoting_reply(confirm, sender=ANN, top=""), COMMANDS)
    assert wait_for(lambda: not person(app, ANN).digest_subscribed, timeout=30)
    assert person(app, ANN).language != "es"


def test_item8_answers_to_unknown_senders_quote_no_attacker_text(
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
    spam = "Buy cheap pills at http://evil.example/now"
    victim = "victim@example.net"
    body = f"HELP {spam}\n{spam}\nSTATUS WGIG-0001 {spam}"
    send(bot.port, mail(sender=victim, to=COMMANDS, subject="help", body=body), COMMANDS)
    assert wait_for(lambda: received(relay, victim), timeout=30)
    (answer,) = received(relay, victim)
    text = answer.get_content()
    assert "evil.example" not in text and "pills" not in text
    assert "HELP" in text  # the answer is still useful to a real newcomer
    assert outbox(app, "results")


def test_item8_receipt_to_an_unproven_sender_echoes_no_attacker_text(
    tmp_path: Path, database_url: str, relay: CaptureRelay, bot_factory: Any, clock: FrozenClock
) -> None:
    mx = "mx.caucus.example.org"
    app, bot = start_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
        policy="post",
        trusted_authserv_ids=(mx,),
    )
    spam = "Buy cheap pills at http://evil.example/now " + "CHEAP PILLS NOW " * 20
    victim = "victim@example.net"  # the forged From: the receipt would land on them
    send(bot.port, mail(sender=victim, subject=spam, body="Open the group."), CONTRIB)
    assert wait_for(lambda: received(relay, victim), timeout=30)
    (receipt,) = received(relay, victim)
    subject, body = str(receipt["Subject"]), receipt.get_content()
    for text in (subject, body):  # no link to follow, no spam line: at most 50 characters
        assert "evil.example" not in text and "http" not in text
        assert text.count("CHEAP PILLS") <= 1 and "Buy cheap pills" not in body
    echo = subject.removeprefix("Received: ").removesuffix(" [WGIG-0001]")
    assert echo.startswith("Buy cheap pills at […]") and len(echo) <= 50
    # What is ours stays whole: the reference, the topic and the SHA-256 of the text.
    with Session(app.engine) as s:
        filed = s.exec(select(Contribution)).one()
    assert filed.subject.startswith("Buy cheap pills")  # the contribution itself is intact
    assert filed.ref in body and filed.topic in body and filed.text_sha256 in body
    # A sender the trusted MTA vouches for (aligned DKIM pass) sees the whole subject again.
    proven = mail(
        sender=ANN,
        subject="Long title: http://example.org/our-paper " + "seats " * 20,
        body="Regional seats.",
        headers={"Authentication-Results": f"{mx}; dkim=pass header.d=example.org"},
    )
    send(bot.port, proven, CONTRIB)
    assert wait_for(lambda: received(relay, ANN), timeout=30)
    (own,) = received(relay, ANN)
    assert "http://example.org/our-paper" in str(own["Subject"])
    assert str(own["Subject"]).count("seats") == 20


def test_item8_references_never_reparent_someone_elses_contribution(
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
    send(
        bot.port,
        mail(sender=ANN, subject="Open groups", body="A.", message_id="<a@x.org>"),
        CONTRIB,
    )
    bob = mail(sender="bob@example.org", subject="Budget", body="B.", message_id="<b@y.org>")
    send(bot.port, bob, CONTRIB)
    # Eve claims, through References, that Bob's contribution answered Ann's.
    eve = mail(
        sender="eve@evil.example",
        subject="Re: Budget",
        body="C.",
        message_id="<c@evil.example>",
        headers={"References": "<a@x.org> <b@y.org>", "In-Reply-To": "<b@y.org>"},
    )
    send(bot.port, eve, CONTRIB)
    assert wait_for(lambda: received(relay, "eve@evil.example"), timeout=30)
    with Session(app.engine) as s:
        rows = {c.message_id: c for c in s.exec(select(Contribution))}
    a, b, c = rows["a@x.org"], rows["b@y.org"], rows["c@evil.example"]
    assert b.parent_id is None and b.thread_id != a.thread_id  # Bob's stays a thread of its own
    assert c.parent_id == b.id  # Eve's reply is still threaded under what it answers


def test_item8_config_check_rejects_the_sample_secret() -> None:
    env = {"MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml")}
    result = CliRunner().invoke(cli, ["config", "check"], env=env)
    assert result.exit_code == 1 and "server.secret" in result.stderr
    strong = CliRunner().invoke(cli, ["config", "check"], env={**env, "MAILBOT_SECRET": "k" * 40})
    assert strong.exit_code == 0, strong.stderr
