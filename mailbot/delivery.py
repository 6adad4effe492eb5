"""Mail that could not be delivered: the moderators are told once per failure, and
`mailbot outbox retry ID|--failed` puts failed mail back in the queue."""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Sequence

from sqlalchemy import update
from sqlmodel import select

from mailbot.answer import answer
from mailbot.app import App
from mailbot.compose import header_safe
from mailbot.db import session_scope
from mailbot.models import OutboxMessage

log = logging.getLogger(__name__)

REPORT_KIND = "delivery-failure"


def _subject(raw: bytes) -> str:
    head = email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0], policy=email.policy.default)
    return header_safe(str(head.get("Subject", "")), 200)


def report_failure(*, app: App, row: OutboxMessage, error: str) -> None:
    """Queue one notice to the moderators about a message that failed for good. A failed
    notice is only logged: reporting it by mail would loop."""
    moderators = list(app.consultation.moderators)
    if row.kind == REPORT_KIND or not moderators:
        log.error("outbox %s (%s) failed; no one to tell by mail", row.id, row.kind)
        return
    with session_scope(app.engine) as session:
        answer(
            app=app,
            session=session,
            to=moderators,
            template="delivery_failed.txt",
            lang=app.consultation.default_language,
            context={
                "id": row.id,
                "kind": row.kind,
                "recipients": ", ".join(row.recipients),
                "subject": _subject(row.raw),
                "message_id": row.message_id,
                "attempts": row.attempts,
                "error": header_safe(error, 500),
            },
            kind=REPORT_KIND,
            # One notice per failure; a message retried and failing again is told again.
            dedupe_key=f"{REPORT_KIND}:{row.id}:{row.attempts}",
            auto_submitted="auto-generated",
        )


def retry_failed(*, app: App, ids: Sequence[int] = (), all_failed: bool = False) -> list[int]:
    """Put failed rows back as pending, due now, with a fresh queue lifetime. -> their ids."""
    now = app.clock.now()
    with session_scope(app.engine) as session:
        query = select(OutboxMessage.id).where(OutboxMessage.status == "failed")
        if not all_failed:
            query = query.where(OutboxMessage.id.in_(list(ids)))  # type: ignore[union-attr]
        chosen = [int(i) for i in session.exec(query) if i is not None]
        if chosen:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(chosen))  # type: ignore[union-attr]
                .values(status="pending", attempts=0, next_attempt_at=now, created_at=now)
            )
    return sorted(chosen)
