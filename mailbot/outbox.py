"""The outbox: every outgoing message becomes a row here, in the caller's transaction."""

from __future__ import annotations

import email.policy
from collections.abc import Callable, Sequence
from datetime import datetime
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import class_mapper, make_transient_to_detached
from sqlmodel import Session

from mailbot.addresses import bounce_address
from mailbot.config import Settings
from mailbot.models import OutboxMessage
from mailbot.wire import Wire

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


def wire_of(msg: EmailMessage, recipients: Sequence[str] | None = None) -> Wire:
    """Recipients (the To addresses unless given), Message-ID and bytes of `msg`."""
    rcpts = (
        list(recipients) if recipients is not None else [a.addr_spec for a in msg["To"].addresses]
    )
    return Wire(rcpts, str(msg["Message-ID"]).strip("<>"), as_wire_bytes(msg, rcpts))


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
    return enqueue_wire(
        session=session,
        settings=settings,
        guards=guards,
        now=now,
        wire=wire_of(msg, recipients),
        kind=kind,
        dedupe_key=dedupe_key,
        contribution_id=contribution_id,
    )


@lru_cache(maxsize=2)
def _insert_statement(dialect: str) -> Insert:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return insert.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)


def _insert(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id: the dedupe check and
    the row in one statement, on the transaction's connection (no ORM flush, the statement
    built once); None when the key was queued before."""
    connection = session.connection()
    statement = _insert_statement(connection.dialect.name)
    return connection.execute(statement, values).scalar()


@lru_cache(maxsize=1)
def _blank() -> tuple[Any, dict[str, Any]]:
    """The class manager (mappers configured) and the columns an answer leaves at their
    defaults (last_error, sent_at, the claim...)."""
    fields = OutboxMessage.model_fields
    return class_mapper(OutboxMessage).class_manager, {
        name: f.get_default(call_default_factory=True)
        for name, f in fields.items()
        if not f.is_required()
    }


def _written(row_id: int, values: dict[str, Any]) -> OutboxMessage:
    """The row just written, as a detached object, without the model's validation (the
    values are ours and already typed; validating them cost more than the INSERT)."""
    manager, defaults = _blank()
    row: OutboxMessage = manager.new_instance()
    row.__dict__.update(defaults, **values, id=row_id)
    make_transient_to_detached(row)
    return row


def enqueue_wire(
    *,
    session: Session,
    settings: Settings,
    guards: Sequence[OutboxGuard],
    now: object,
    wire: Wire,
    kind: str,
    dedupe_key: str,
    contribution_id: int | None = None,
) -> OutboxMessage | None:
    """Queue bytes already written (`mailbot.wire`) as `enqueue` queues a message. The row
    goes in first, so a key queued before costs no guard; a guard that refuses takes it out,
    one that delays moves its first attempt (both rare: the common answer is one INSERT)."""
    values: dict[str, Any] = {
        "created_at": now,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "mail_from": bounce_address(settings),
        "recipients": list(wire.recipients),
        "message_id": wire.message_id,
        "raw": wire.raw,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "contribution_id": contribution_id,
    }
    row_id = _insert(session, values)
    if row_id is None:
        return None
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    not_before: datetime = now  # type: ignore[assignment]
    for guard in guards:
        decision = guard(
            session=session,
            settings=settings,
            now=now,
            kind=kind,
            recipients=values["recipients"],
            dedupe_key=dedupe_key,
        )
        if decision is False:
            session.execute(delete(table).where(table.c.id == row_id))
            return None
        if isinstance(decision, datetime):
            not_before = max(not_before, decision)
    if not_before != now:
        values["next_attempt_at"] = not_before
        session.execute(
            update(table).where(table.c.id == row_id).values(next_attempt_at=not_before)
        )
    # Not in the session: the row is written; callers read it (or test it for None).
    return _written(row_id, values)
