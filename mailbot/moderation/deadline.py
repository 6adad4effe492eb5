"""Moderators' deadline overrides (EXTEND, CLOSE): stored here, read by `mailbot.deadline`.

Everything else asks `mailbot.deadline.deadline_in_force`, which adds topics' own closes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from mailbot.clock import utc
from mailbot.config import Consultation
from mailbot.moderation.models import DeadlineOverride


def effective_deadline(*, session: Session, consultation: Consultation) -> datetime:
    """The deadline in force now (aware, in the consultation's zone)."""
    row = session.exec(
        select(DeadlineOverride)
        .where(DeadlineOverride.consultation_id == consultation.id)
        .order_by(DeadlineOverride.set_at.desc(), DeadlineOverride.id.desc())  # type: ignore[attr-defined, union-attr]
        .limit(1)
    ).first()
    if row is None:
        return consultation.closes_at
    return utc(row.closes_at).astimezone(consultation.tz)


def set_deadline(
    *,
    session: Session,
    consultation: Consultation,
    closes_at: datetime,
    by: str,
    now: datetime,
    command: str,
) -> DeadlineOverride:
    row = DeadlineOverride(
        consultation_id=consultation.id,
        closes_at=closes_at.astimezone(UTC),
        set_by=by,
        set_at=now,
        command=command,
    )
    session.add(row)
    session.flush()
    session.info.pop("mailbot.deadline", None)  # mailbot.deadline's cache is stale now
    return row
