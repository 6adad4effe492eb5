"""Bounces and automatic replies on hand-made messages: classified, recorded, never answered."""

from __future__ import annotations

from email.header import Header

import pytest
from sqlmodel import Session, select

from mailbot.hostile.models import BounceEvent
from mailbot.models import Contribution, OutboxMessage, Participant, RawMessage
from mailbot.pipeline import process_one
from mailbot.receive import RawIn, store_raw_batch

BODY = "We believe the working group should publish all of its documents in time.\r\n"


def mail(
    subject: str = "Idea",
    *,
    sender: str = "ana@example.org",
    headers: str = "",
    body: str = BODY,
    mid: str = "m-1@example.org",
) -> bytes:
    if not subject.isascii():  # as a mail client sends it: an RFC 2047 encoded-word
        subject = Header(subject, "utf-8").encode()
    return (
        f"From: Ana <{sender}>\r\nTo: contrib@consult.example.org\r\nSubject: {subject}\r\n"
        f"Message-ID: <{mid}>\r\n{headers}\r\n{body}"
    ).encode()


def run(app, raw: bytes, **envelope) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    (stored,) = store_raw_batch(app=app, items=[RawIn(raw=raw, source="test", **envelope)])
    outcome = process_one(app=app, raw_id=stored.raw_id)
    return outcome.outcome, outcome.reason


def outbox(app) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with Session(app.engine) as s:
        return list(s.exec(select(OutboxMessage)))


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Re: Idea",
        "Automatic reply: Idea",
        "Réponse automatique : Idée",
        "Absence du bureau",
        "Respuesta automática: Idea",
        "Fuera de la oficina: Idea",
        "Automatische Antwort: Idee",
        "Abwesenheitsnotiz: Idee",
        "Re: Idea (Automatic Response)",
        "AUTO: Ana is out of the office (returning 05/01)",
    ],
)
def test_out_of_office_subjects_in_four_languages(app, subject: str) -> None:  # type: ignore[no-untyped-def]
    outcome, reason = run(app, mail(subject))
    assert outcome == "autoreply" and "out-of-office subject" in reason
    assert outbox(app) == []


@pytest.mark.parametrize(
    "subject",
    [
        "Absence of transparency in the working group",
        "Office hours of the secretariat",
        "Ausencia de transparencia",
        "Vacation of the chair should not delay the report",
    ],
)
def test_ordinary_subjects_that_look_alike_are_contributions(app, subject: str) -> None:  # type: ignore[no-untyped-def]
    assert run(app, mail(subject))[0] == "contribution"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("Precedence: list\r\n", "Precedence: list"),
        ("Precedence: bulk\r\n", "Precedence: bulk"),
        ("Precedence: junk\r\n", "Precedence: junk"),
        ("Precedence: auto_reply\r\n", "Precedence: auto_reply"),
        ("X-Autoreply: yes\r\n", "x-autoreply"),
        ("X-Autorespond: Idea\r\n", "x-autorespond"),
        ("Auto-Submitted: auto-replied (vacation)\r\n", "Auto-Submitted"),
        ("Return-Path: <>\r\n", "null sender"),
    ],
)
def test_automatic_reply_headers(app, header: str, why: str) -> None:  # type: ignore[no-untyped-def]
    outcome, reason = run(app, mail(headers=header))
    assert outcome == "autoreply" and why in reason
    with Session(app.engine) as s:
        assert s.exec(select(RawMessage)).one().outcome == "autoreply"  # kept
        assert s.exec(select(Contribution)).all() == []
    assert outbox(app) == []  # never acknowledged


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Failure of the consultation process", "As section 5.1.2 says, the user unknown to us..."),
        ("Error in the draft mandate", "Paragraph 4.2.1 could be clearer."),
        (
            "Fwd: Undeliverable: my contribution",
            "My first mail could not be delivered, here it is.",
        ),
    ],
)
def test_contributions_that_talk_about_failure_are_not_bounces(app, subject, body) -> None:  # type: ignore[no-untyped-def]
    assert run(app, mail(subject, body=body + "\r\n"))[0] == "contribution"


def test_a_command_in_an_auto_reply_is_never_run(app) -> None:  # type: ignore[no-untyped-def]
    raw = mail(
        "WITHDRAW WGIG-0001",
        headers="Auto-Submitted: auto-replied\r\n",
        body="WITHDRAW WGIG-0001\r\n",
    )
    assert run(app, raw)[0] == "autoreply"
    assert outbox(app) == []


def test_x_auto_response_suppress_alone_is_a_person_writing(app) -> None:  # type: ignore[no-untyped-def]
    """Outlook marks ordinary mail with it (asking others not to auto-reply): not automatic."""
    raw = mail(headers="X-Auto-Response-Suppress: All\r\nX-MS-Has-Attach:\r\n")
    assert run(app, raw)[0] == "contribution"
    assert [r.kind for r in outbox(app)] == ["ack"]


def test_mail_to_our_bounce_address_is_a_bounce_by_definition(app) -> None:  # type: ignore[no-untyped-def]
    outcome, reason = run(app, mail("Hello"), envelope_to=("contrib-bounces@consult.example.org",))
    assert outcome == "bounce" and "bounce address" in reason
    assert outbox(app) == []


def dsn(recipient: str, status: str, action: str, n: int, about: str = "") -> bytes:
    """A DSN; `about` is the Message-ID of our message it returns (what makes it count)."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        "To: contrib-bounces@consult.example.org\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn-{n}@mx.example.net>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n"
        f"\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: Received: Idea [WGIG-0001]\r\n"
        f"Message-ID: <{about or 'unknown@example.net'}>\r\n"
        "--B--\r\n"
    ).encode()


def test_dsn_bounces_score_the_participant_hard_and_soft(app) -> None:  # type: ignore[no-untyped-def]
    assert run(app, mail())[0] == "contribution"  # ana is now a participant
    ack = outbox(app)[0].message_id
    assert run(app, dsn("ana@example.org", "5.1.1", "failed", 1, ack))[0] == "bounce"
    assert run(app, dsn("ANA@example.org", "4.2.2", "delayed", 2, ack))[0] == "bounce"
    outcome, reason = run(app, dsn("stranger@example.net", "5.1.1", "failed", 3))
    assert outcome == "bounce" and "hard stranger@example.net 5.1.1" in reason
    with Session(app.engine) as s:
        ana = s.exec(select(Participant).where(Participant.email == "ana@example.org")).one()
        assert ana.bounce_score == 1.5
        events = s.exec(select(BounceEvent).order_by(BounceEvent.id)).all()  # type: ignore[arg-type]
        assert [(e.severity, e.status, e.score) for e in events] == [
            ("hard", "5.1.1", 1.0),
            ("soft", "4.2.2", 0.5),
            ("hard", "5.1.1", 0),
        ]
        assert events[2].participant_id is None  # unknown addresses never become participants
        assert len(s.exec(select(Participant)).all()) == 1
    assert [r.kind for r in outbox(app)] == ["ack"]  # the bounces got no answer


def test_non_dsn_bounce_text_is_recognised(app) -> None:  # type: ignore[no-untyped-def]
    raw = (
        b"From: MAILER-DAEMON@mail.example.net\r\nTo: contrib@consult.example.org\r\n"
        b"Subject: failure notice\r\nMessage-ID: <q-1@mail.example.net>\r\n\r\n"
        b"Hi. This is the qmail-send program at mail.example.net.\r\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n"
        b"<ana@example.org>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n"
    )
    outcome, reason = run(app, raw)
    assert outcome == "bounce" and "hard ana@example.org 5.1.1" in reason


def test_participant_over_the_bounce_score_gets_no_more_mail(app) -> None:  # type: ignore[no-untyped-def]
    assert run(app, mail())[0] == "contribution"
    ack = outbox(app)[0].message_id
    for n in range(5):
        run(app, dsn("ana@example.org", "5.1.1", "failed", 10 + n, ack))
    assert run(app, mail("Second idea", mid="m-2@example.org"))[0] == "contribution"
    assert [r.kind for r in outbox(app)] == ["ack"]  # the second contribution: filed, no ack
