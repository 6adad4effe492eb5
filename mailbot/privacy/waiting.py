"""What moderators see of the publication choices: contributions waiting for their
author's choice (under `require_consent`), and how many are confidential (a count only)."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session as OrmSession
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


def confidential_count(*, session: OrmSession, consultation_id: str) -> int:
    """Published but confidential: what a public page may say of them is this number."""
    query = (
        sa_select(func.count())
        .select_from(Contribution)
        .where(col(Contribution.consultation_id) == consultation_id)
        .where(col(Contribution.publication) == "confidential")
        .where(col(Contribution.status) == "published")
    )
    return int(session.execute(query).scalar_one())
