"""Rate limits: a few answers per recipient, then exactly one "further replies suppressed"
notice, then silence; digests and moderators are not limited; a global brake; and a real
auto-responder ping-pong over SMTP that mailbot ends."""

from __future__ import annotations

import email
import email.policy
import queue
import smtplib
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from mailbot.boot import make_app
from mailbot.compose import build
from mailbot.hostile.config import Limits
from mailbot.hostile.models import ReplyLog
from mailbot.models import OutboxMessage, RawMessage
from mailbot.outbox import enqueue
from mailbot.pipeline import process_one
from mailbot.receive import RawIn, store_raw_batch
from tests.support import free_port, make_settings, wait_for


def contribution(n: int, sender: str = "ana@example.org") -> bytes:
    return (
        f"From: Ana <{sender}>\r\nTo: contrib@consult.example.org\r\nSubject: Idea {n}\r\n"
        f"Message-ID: <idea-{n}-{sender}>\r\n\r\n"
        f"Idea number {n}: the working group should publish its documents.\r\n"
    ).encode()


def ingest(app, raw: bytes) -> str:  # type: ignore[no-untyped-def]
    (stored,) = store_raw_batch(app=app, items=[RawIn(raw=raw, source="test")])
    return process_one(app=app, raw_id=stored.raw_id).outcome


def kinds(app) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(app.engine) as s:
        return [r.kind for r in s.exec(select(OutboxMessage).order_by(OutboxMessage.id))]  # type: ignore[arg-type]


def command(n: int, sender: str = "ana@example.org", word: str = "HELP") -> bytes:
    return (
        f"From: Ana <{sender}>\r\nTo: contrib-request@consult.example.org\r\n"
        f"Subject: {word}\r\nMessage-ID: <cmd-{n}-{sender}>\r\n\r\n{word}\r\n"
    ).encode()


def test_five_answers_then_one_notice_then_silence_until_the_window_clears(app, clock) -> None:  # type: ignore[no-untyped-def]
    for n in range(9):
        assert ingest(app, command(n)) == "command"
        clock.advance(timedelta(minutes=1))
    assert kinds(app) == ["results"] * 5 + ["suppressed"]
    with Session(app.engine) as s:
        notice = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "suppressed")).one()
        decisions = [r.decision for r in s.exec(select(ReplyLog).order_by(ReplyLog.id))]  # type: ignore[arg-type]
    assert decisions == ["queued"] * 5 + ["suppressed", "notice"] + ["suppressed"] * 3
    msg = email.message_from_bytes(notice.raw, policy=email.policy.default)
    assert msg["Subject"].startswith("Further replies suppressed")
    assert msg["Auto-Submitted"] == "auto-replied" and msg["To"] == "ana@example.org"
    assert "5 automatic answers" in msg.get_content()
    # An hour after the first answers, the window has room again: answers resume.
    clock.advance(timedelta(minutes=60))
    assert ingest(app, command(20)) == "command"
    assert kinds(app)[-1] == "results"
    # Another sender was never affected.
    assert ingest(app, command(1, sender="bob@example.org")) == "command"
    assert kinds(app)[-1] == "results"


def test_receipts_over_the_limit_are_delayed_never_dropped(app, clock) -> None:  # type: ignore[no-untyped-def]
    """Issue 18: the receipt of every stored contribution goes out, at worst later."""
    start = clock.now()
    for n in range(12):
        assert ingest(app, contribution(n)) == "contribution"
        clock.advance(timedelta(minutes=1))
    assert kinds(app) == ["ack"] * 12  # no receipt suppressed, no notice needed
    with Session(app.engine) as s:
        rows = s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
        decisions = [r.decision for r in s.exec(select(ReplyLog).order_by(ReplyLog.id))]  # type: ignore[arg-type]
    assert decisions == ["queued"] * 5 + ["delayed"] * 7
    waits = [
        (r.next_attempt_at.replace(tzinfo=None) - start.replace(tzinfo=None)).total_seconds() // 60
        for r in rows
    ]
    # sent at the limit's pace: five now, five an hour later, two the hour after
    assert waits[:5] == [0, 1, 2, 3, 4]
    assert all(60 <= w < 120 for w in waits[5:10]) and all(w >= 120 for w in waits[10:])


def test_notice_in_the_participants_language(app) -> None:  # type: ignore[no-untyped-def]
    first = (
        "From: Renée <renee@example.fr>\r\nTo: contrib@consult.example.org\r\n"
        "Subject: Idée\r\nMessage-ID: <fr-idee@example.fr>\r\nContent-Language: fr\r\n\r\n"
        "Nous pensons que le groupe doit publier ses documents et que la transparence est "
        "une nécessité pour tous.\r\n"
    ).encode()
    assert ingest(app, first) == "contribution"
    for n in range(6):
        raw = (
            f"From: Renée <renee@example.fr>\r\nTo: contrib-request@consult.example.org\r\n"
            f"Subject: AIDE\r\nMessage-ID: <fr-{n}@example.fr>\r\n"
            "Content-Language: fr\r\n\r\nAIDE\r\n"
        ).encode()
        ingest(app, raw)
    with Session(app.engine) as s:
        notice = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "suppressed")).one()
    msg = email.message_from_bytes(notice.raw, policy=email.policy.default)
    assert msg["Subject"].startswith("Réponses suivantes suspendues")


def test_digests_reminders_and_moderators_are_not_limited(app) -> None:  # type: ignore[no-untyped-def]
    moderator = app.consultation.moderators[0]
    with Session(app.engine) as s:
        for n in range(8):
            for kind, to in (
                ("digest", "ana@example.org"),
                ("reminder", "ana@example.org"),
                ("notice", moderator),
            ):
                msg = build(
                    settings=app.settings,
                    now=app.clock.now(),
                    to=[to],
                    subject=f"{kind} {n}",
                    body="x",
                    lang="en",
                )
                row = enqueue(
                    session=s,
                    settings=app.settings,
                    guards=app.road.guards,
                    now=app.clock.now(),
                    msg=msg,
                    kind=kind,
                    dedupe_key=f"{kind}:{n}",
                )
                assert row is not None
        s.commit()
    assert len(kinds(app)) == 24 and "suppressed" not in kinds(app)


def test_global_brake_delays_instead_of_dropping(tmp_path: Path, database_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(database_url, tmp_path / "var")
    limits = Limits(global_per_window=3, brake_minutes=10, brake_delay_seconds=300)
    app = make_app(settings.model_copy(update={"limits": limits}), clock=clock)
    for n in range(7):  # many real people at once: nobody is braked (issue 18)
        assert ingest(app, contribution(n, sender=f"p{n}@example.org")) == "contribution"
    with Session(app.engine) as s:
        rows = s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
    assert {r.next_attempt_at.replace(tzinfo=None) for r in rows} == {
        clock.now().replace(tzinfo=None)
    }
    # Mail that looks automatic (backscatter of forged senders) is what turns the brake on.
    clock.advance(timedelta(minutes=11))
    for n in range(2):
        robot = contribution(100 + n, sender=f"r{n}@example.org").replace(
            b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:"
        )
        assert ingest(app, robot) == "autoreply"
    for n in range(7):
        assert ingest(app, contribution(n, sender=f"q{n}@example.org")) == "contribution"
    with Session(app.engine) as s:
        rows = s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()[7:]  # type: ignore[arg-type]
    delays = [
        (r.next_attempt_at.replace(tzinfo=None) - clock.now().replace(tzinfo=None)).total_seconds()
        for r in rows
    ]
    assert delays == [0, 0, 0, 300, 300, 300, 600]  # every answer queued, the spike spread
    app.engine.dispose()


class Responder:
    """An SMTP relay on loopback that answers every message from mailbot with a vacation
    reply — no Auto-Submitted, no Precedence — sent back into mailbot's listener from the same
    address. Bounded: it stops answering after `max_replies` (the test fails before that)."""

    def __init__(self, *, ooo_subject: bool, max_replies: int = 40) -> None:
        self.received: list[Any] = []
        self.replies = 0
        self.ooo_subject = ooo_subject
        self.max_replies = max_replies
        self.bot_port = 0
        self.outgoing: queue.Queue[bytes | None] = queue.Queue()
        self.port = free_port()
        self.worker = threading.Thread(target=self._send_replies, daemon=True)

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        responder = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                responder.received.append(envelope)
                if responder.replies < responder.max_replies:
                    responder.replies += 1
                    responder.outgoing.put(responder.vacation(envelope, responder.replies))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.worker.start()

    def vacation(self, envelope: Any, n: int) -> bytes:
        original = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        subject = ("Out of office: " if self.ooo_subject else "Re: ") + str(original["Subject"])
        who = envelope.rcpt_tos[0]
        return (
            f"From: {who}\r\nTo: {original['From']}\r\nSubject: {subject}\r\n"
            f"Message-ID: <vacation-{n}@example.org>\r\n\r\n"
            "I am away from my desk until Monday and will read your message then.\r\n"
            f"(reply number {n})\r\n"
        ).encode()

    def _send_replies(self) -> None:
        while (raw := self.outgoing.get()) is not None:
            with smtplib.SMTP("127.0.0.1", self.bot_port, timeout=30) as client:
                client.sendmail("ana@example.org", ["contrib@consult.example.org"], raw)

    def stop(self) -> None:
        self.outgoing.put(None)
        self.worker.join(30)
        self.controller.stop()


@pytest.mark.parametrize("ooo_subject", [False, True], ids=["stealthy", "out-of-office"])
def test_auto_responder_ping_pong_ends(
    tmp_path: Path,
    database_url: str,
    bot_factory,  # type: ignore[no-untyped-def]
    ooo_subject: bool,
) -> None:
    responder = Responder(ooo_subject=ooo_subject)
    responder.start()
    try:
        app = make_app(
            make_settings(
                database_url, tmp_path / "var", relay=f"smtp://127.0.0.1:{responder.port}"
            )
        )
        bot = bot_factory(app)
        responder.bot_port = bot.port
        started = time.monotonic()
        with smtplib.SMTP("127.0.0.1", bot.port, timeout=30) as client:
            client.sendmail("ana@example.org", ["contrib@consult.example.org"], contribution(1))
        # Stealthy: our receipt, the robot's first answer filed and acknowledged, its second
        # answer (the same words again) filed and not answered: the loop ends (issue 18).
        expected = 1 if ooo_subject else 2

        def settled() -> bool:
            with Session(app.engine) as s:
                raws = s.exec(select(RawMessage)).all()
                busy = s.exec(
                    select(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending")))
                ).all()  # type: ignore[attr-defined]
            # every reply the responder sent has been stored and processed, nothing is queued
            return (
                len(responder.received) >= expected
                and not busy
                and len(raws) == 1 + responder.replies
                and all(r.state != "new" for r in raws)
                and responder.outgoing.empty()
            )

        assert wait_for(settled, timeout=60, interval=0.2), (
            len(responder.received),
            responder.replies,
        )
        elapsed = time.monotonic() - started
        kinds_sent = [
            email.message_from_bytes(e.original_content)["Subject"].split(":")[0]
            for e in responder.received
        ]
        print(
            f"\nping-pong ({'out-of-office' if ooo_subject else 'stealthy'} responder): "
            f"mailbot sent {len(responder.received)} ({kinds_sent}), the responder answered "
            f"{responder.replies} times, quiet after {elapsed:.1f} s"
        )
        assert len(responder.received) == expected
        assert responder.replies == expected < responder.max_replies
        if not ooo_subject:
            last = email.message_from_bytes(responder.received[-1].original_content)
            assert last["Subject"].startswith("Received")
        with Session(app.engine) as s:
            outcomes = [r.outcome for r in s.exec(select(RawMessage).order_by(RawMessage.id))]  # type: ignore[arg-type]
        if ooo_subject:
            assert outcomes == ["contribution", "autoreply"]
        else:
            assert outcomes == ["contribution"] * 3  # kept, the repeat just not answered
    finally:
        responder.stop()
