"""What moderators see of the publication choices: contributions waiting for their
author's choice (under `require_consent`), and how many are confidential (a count only)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from mailbot.models import Contribution


def awaiting_consent(*, session: Session, consultation_id: str) -> list[str]:
    """References still waiting for their author's choice, oldest first."""
    query = (
        select(Contribution.ref)
        .where(Contribution.consultation_id == consultation_id)
        .where(col(Contribution.publication).is_(None))
        .where(col(Contribution.status).not_in(("withdrawn", "rejected")))
        .order_by(col(Contribution.id))
    )
    return list(session.exec(query))


def confidential_count(*, session: Session, consultation_id: str) -> int:
    query = (
        select(func.count())
        .select_from(Contribution)
        .where(Contribution.consultation_id == consultation_id)
        .where(Contribution.publication == "confidential")
        .where(Contribution.status == "published")
    )
    return int(session.exec(query).one())
