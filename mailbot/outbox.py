"""The outbox: every outgoing message becomes a row here, in the caller's transaction."""

from __future__ import annotations

import email.policy
from collections.abc import Callable, Sequence
from datetime import datetime
from email.message import EmailMessage

from sqlmodel import Session, select

from mailbot.addresses import bounce_address
from mailbot.config import Settings
from mailbot.models import OutboxMessage

# A guard (rate limits, issue 7) is called guard(session=, settings=, now=, kind=,
# recipients=, dedupe_key=) and returns True (queue), False (refuse: nothing is queued,
# enqueue returns None) or a datetime (queue, send not before). The road lists them
# (`app.road.guards`); every caller passes them, so no answer skips them by accident.
OutboxGuard = Callable[..., "bool | datetime"]


def as_wire_bytes(msg: EmailMessage, recipients: Sequence[str]) -> bytes:
    """CRLF bytes for SMTP. A UTF-8 address must stay raw UTF-8 (RFC 6532): an encoded-word
    is not allowed inside an addr-spec, so such mail is written with the SMTPUTF8 policy."""
    if all(a.isascii() for a in recipients):
        try:
            return msg.as_bytes(policy=email.policy.SMTP)
        except UnicodeEncodeError:  # e.g. a UTF-8 Message-ID quoted in References
            pass
    return msg.as_bytes(policy=email.policy.SMTPUTF8)


def enqueue(
    *,
    session: Session,
    settings: Settings,
    guards: Sequence[OutboxGuard],
    now: object,
    msg: EmailMessage,
    kind: str,
    dedupe_key: str,
    recipients: Sequence[str] | None = None,
    contribution_id: int | None = None,
) -> OutboxMessage | None:
    """Queue `msg` unless a message with the same dedupe_key was queued before (-> None)."""
    if session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)).first():
        return None
    rcpts = (
        list(recipients) if recipients is not None else [a.addr_spec for a in msg["To"].addresses]
    )
    not_before: datetime = now  # type: ignore[assignment]
    for guard in guards:
        decision = guard(
            session=session,
            settings=settings,
            now=now,
            kind=kind,
            recipients=rcpts,
            dedupe_key=dedupe_key,
        )
        if decision is False:
            return None
        if isinstance(decision, datetime):
            not_before = max(not_before, decision)
    row = OutboxMessage(
        created_at=now,  # type: ignore[arg-type]
        kind=kind,
        dedupe_key=dedupe_key,
        mail_from=bounce_address(settings),
        recipients=rcpts,
        message_id=str(msg["Message-ID"]).strip("<>"),
        raw=as_wire_bytes(msg, rcpts),
        next_attempt_at=not_before,
        contribution_id=contribution_id,
    )
    session.add(row)
    session.flush()
    return row
