"""The decision log: every moderation decision and refusal, with who, what, when, why, proof."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from mailbot.moderation.models import ModerationDecision


def record(
    *,
    session: Session,
    now: datetime,
    actor: str,
    action: str,
    item: str | None,
    outcome: str,
    reason: str = "",
    proof: str | None = None,
    raw_id: int | None = None,
    message_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> ModerationDecision:
    row = ModerationDecision(
        at=now,
        actor=actor,
        action=action,
        item=item,
        outcome=outcome,
        reason=reason,
        proof=proof,
        raw_id=raw_id,
        message_id=message_id,
        details=details or {},
    )
    session.add(row)
    session.flush()
    return row


def decisions(*, session: Session, item: str | None = None) -> list[ModerationDecision]:
    query = select(ModerationDecision).order_by(ModerationDecision.id)  # type: ignore[arg-type]
    if item:
        query = query.where(ModerationDecision.item == item.upper())
    return list(session.exec(query))


def as_row(d: ModerationDecision) -> dict[str, Any]:
    return {
        "id": d.id,
        "at": d.at.isoformat(),
        "actor": d.actor,
        "action": d.action,
        "item": d.item,
        "outcome": d.outcome,
        "proof": d.proof,
        "reason": d.reason,
        "message_id": d.message_id,
    }
