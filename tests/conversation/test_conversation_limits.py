"""Issue 18: limits that protect without losing what people are owed.

A flood of commands from one sender stays bounded (the configured answers plus one notice);
a deadline rush of thousands of real people gets every receipt, exactly once, none braked;
`mailbot messages list --outcome X` and `messages replay` reach every stored message."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from mailbot.app import App
from mailbot.cli import cli
from mailbot.clock import FrozenClock
from mailbot.config import PROJECT_DIR
from mailbot.models import OutboxMessage, Participant, RawMessage
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from tests.conversation.conversation_support import COMMANDS, message


def store(app: App, raws: list[bytes]) -> None:
    store_raw_batch(app=app, items=[RawIn(raw=r, source="smtp") for r in raws])


def count(app: App, kind: str) -> int:
    with Session(app.engine) as s:
        return int(
            s.exec(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == kind)
            ).one()
        )


def test_a_flood_of_500_helps_gets_the_configured_answers_and_one_notice(app: App) -> None:
    store(
        app,
        [
            message(
                sender="flood@example.org",
                mid=f"h{n}@example.org",
                to=COMMANDS,
                subject="HELP",
                body="HELP",
            )
            for n in range(500)
        ],
    )
    outcomes = process_pending(app=app)
    assert len(outcomes) == 500 and {o.outcome for o in outcomes} == {"command"}
    limit = app.settings.limits.per_recipient
    assert count(app, "results") == limit and count(app, "suppressed") == 1


@pytest.mark.slow
def test_a_deadline_rush_gives_every_contributor_exactly_one_receipt_unbraked(
    app: App, clock: FrozenClock
) -> None:
    people = 5000
    for start in range(0, people, 500):
        store(
            app,
            [
                message(
                    sender=f"p{n}@example.org",
                    mid=f"rush-{n}@example.org",
                    subject=f"Idea {n}",
                    body=f"Proposal {n}: open every meeting.",
                )
                for n in range(start, start + 500)
            ],
        )
        process_pending(app=app)
        clock.advance(timedelta(minutes=1))  # 5,000 people in 10 minutes
    with Session(app.engine) as s:
        rows = s.exec(
            select(
                OutboxMessage.recipients, OutboxMessage.created_at, OutboxMessage.next_attempt_at
            )
        ).all()
    receivers = [r[0][0] for r in rows]
    assert len(receivers) == people and len(set(receivers)) == people  # one each
    assert all(created == not_before for _, created, not_before in rows)  # none braked


def test_every_stored_message_can_be_listed_and_replayed(
    app: App, database_url: str, tmp_path: Path
) -> None:
    store(
        app,
        [
            message(
                sender="ana@example.org",
                mid="ooo@example.org",
                subject="Out of office: back Monday",
                body="I am away.",
            ),
            message(sender="ana@example.org", mid="idea@example.org", body="A real idea."),
        ],
    )
    process_pending(app=app)
    env = {
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(tmp_path / "var"),
    }
    runner = CliRunner()
    listed = runner.invoke(cli, ["messages", "list", "--outcome", "autoreply", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["message_id"] == "ooo@example.org" and "out-of-office" in row["reason"]
    again = runner.invoke(cli, ["messages", "replay", "--json", str(row["id"])], env=env)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["outcome"] == "autoreply"  # same rules, same answer
    with Session(app.engine) as s:
        idea = s.exec(select(RawMessage).where(RawMessage.message_id == "idea@example.org")).one()
    refused = runner.invoke(cli, ["messages", "replay", str(idea.id)], env=env)
    assert refused.exit_code == 1  # a filed contribution is never filed twice
    # A bounce of our receipt to ana (it quotes the receipt's Message-ID, so it counts):
    # replayed with its score taken back first, so it is counted once.
    with Session(app.engine) as s:
        ack = s.exec(select(OutboxMessage.message_id).where(OutboxMessage.kind == "ack")).one()
    bounce = (
        b"From: MAILER-DAEMON@mx.example.org\r\nTo: contrib-bounces@consult.example.org\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx.example.org>\r\n"
        b"\r\nThis is the mail system.\r\n\r\n<ana@example.org>: host said: 550 5.1.1 "
        b"User unknown\r\n\r\n--- original message headers ---\r\n"
        b"Message-ID: <" + ack.encode() + b">\r\n"
    )
    store(app, [bounce])
    process_pending(app=app)
    with Session(app.engine) as s:
        ana = s.exec(select(Participant).where(Participant.email == "ana@example.org")).one()
        bounced = s.exec(
            select(RawMessage).where(RawMessage.message_id == "b1@mx.example.org")
        ).one()
    assert bounced.outcome == "bounce" and ana.bounce_score == 1.0
    again = runner.invoke(cli, ["messages", "replay", str(bounced.id)], env=env)
    assert again.exit_code == 0, again.output
    with Session(app.engine) as s:
        ana = s.exec(select(Participant).where(Participant.email == "ana@example.org")).one()
    assert ana.bounce_score == 1.0
    outbox = runner.invoke(cli, ["outbox", "list", "--json"], env=env)
    assert all("not_before" in json.loads(line) for line in outbox.stdout.splitlines())
