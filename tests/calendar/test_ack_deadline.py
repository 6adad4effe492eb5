"""The acknowledgement states the deadline in force, not only the one in the config."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.models import OutboxMessage
from mailbot.moderation.models import DeadlineOverride
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch

RAW = (
    b"From: Lea <lea@example.de>\r\nTo: contrib@consult.example.org\r\n"
    b"Subject: Seats for youth\r\nMessage-ID: <de-1@example.de>\r\n\r\n"
    b"The working group should reserve seats for youth organisations.\r\n"
)


def test_ack_shows_the_extended_deadline_and_late_uses_it(app: App) -> None:
    with Session(app.engine) as s:
        # A moderator's EXTEND moved the close from 31 January to 28 February 2027.
        s.add(
            DeadlineOverride(
                consultation_id=app.consultation.id,
                set_by="chair@caucus.example.org",
                closes_at=datetime(2027, 2, 28, 17, 0, tzinfo=UTC),
                set_at=app.clock.now(),
                command="extend",
            )
        )
        s.commit()
    store_raw_batch(app=app, items=[RawIn(raw=RAW, source="test")])
    (outcome,) = process_pending(app=app)
    assert outcome.outcome == "contribution"
    with Session(app.engine) as s:
        row = s.exec(select(OutboxMessage)).one()
    body = email.message_from_bytes(row.raw, policy=email.policy.default).get_content()
    assert "2027-02-28 18:00 CET" in body  # 17:00 UTC in Paris
    assert "2027-01-31" not in body
