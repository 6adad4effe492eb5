"""The sender: drains due outbox rows through the transport, retries with backoff, marks sent.

The due rows are claimed (status `sending`) in one commit before they go out, and marked
`sent` in batches (one UPDATE per `MARK_EVERY` hand-overs, and at the end of a round), each
after the transport's `flush` (the maildir's one sync for the batch), so each row is handed
to the relay once and none is recorded sent before its mail is durable. A crash in between
leaves rows in `sending`; at start-up they go back to `pending` and are sent again with the
same Message-ID (at-least-once on the wire: the one gap no mail system can close; receivers
dedupe by Message-ID).
A locked database is waited out when recording hand-overs (never a second sending), and
claimed rows that were not handed over go back to `pending` at once, not at the next start.
Temporary relay failures are retried for the queue lifetime (5 days by default, as Postfix's
`maximal_queue_lifetime`); then the row fails and the moderators are told.

On PostgreSQL several senders share the outbox: rows are claimed with `FOR UPDATE SKIP
LOCKED` and a lease (scale/claims.py); the rows of a sender that died go back to `pending`
when its lease runs out, not when some other process starts.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import select

from mailbot.app import App
from mailbot.clock import utc
from mailbot.db import session_scope, write_scope
from mailbot.delivery import report_failure
from mailbot.models import OutboxMessage
from mailbot.retry import with_retries
from mailbot.scale.claims import OutboxLease, claim_outbox, release_expired
from mailbot.scale.locks import on_postgres
from mailbot.signing import outgoing_transport
from mailbot.transport import PermanentFailure, TemporaryFailure, Transport

log = logging.getLogger(__name__)

LOCK_RETRIES = 12  # ~15 s of waiting: a row handed to the relay must get recorded as sent
MARK_EVERY = 50  # hand-overs per `sent` commit
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    return min(BASE_DELAY * (2 ** max(attempts - 1, 0)), MAX_DELAY)


def transport_for(app: App) -> Transport:
    return outgoing_transport(app.settings)  # relay options and DKIM signing live there


def recover(*, app: App) -> int:
    """Rows left `sending` by a crash go back to `pending` (PostgreSQL: once their lease ran
    out, as other senders may be sending theirs)."""
    if on_postgres(app.engine):
        return release_expired(engine=app.engine, every_unleased=True)
    with session_scope(app.engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending")  # type: ignore[arg-type]
            .values(status="pending")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def drain(*, app: App, transport: Transport | None = None, limit: int = 200) -> dict[str, int]:
    """Send every due row once; returns counts of sent, retry and failed."""
    transport = transport or transport_for(app)
    now = app.clock.now()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    due = _due(app=app, now=now, limit=limit)
    if not due:
        return counts
    handed: list[OutboxMessage] = []  # handed over, not yet marked sent
    lease = OutboxLease(engine=app.engine, lease=app.settings.server.claim_lease)
    try:
        with transport.connect() as send:
            for row in due:
                if on_postgres(app.engine):  # other senders wait for our lease to end
                    lease.keep([r.id for r in due if r.status == "sending" and r.id])
                if _send_one(app=app, row=row, send=send, counts=counts):
                    handed.append(row)
                if len(handed) >= MARK_EVERY:
                    send.flush()  # durable at the other end before it is recorded as sent
                    _mark_sent(app=app, rows=handed)
            send.flush()
    except TemporaryFailure as exc:  # the relay is down: every unsent row waits its turn
        for row in due:
            if row.status == "sending":
                _retry(app=app, row=row, error=str(exc), counts=counts)
    except PermanentFailure as exc:
        for row in due:
            if row.status == "sending":
                _fail(app=app, row=row, error=str(exc), counts=counts)
    finally:  # the connection is closed, so flushed: what it took is durable there
        _mark_sent(app=app, rows=handed)
        # Anything else (a locked database...): claimed rows not yet handed over go back to
        # `pending` now, instead of waiting in `sending` for a restart.
        _release(app=app, rows=[row for row in due if row.status == "sending"])
    return counts


def _due(*, app: App, now: datetime, limit: int) -> list[OutboxMessage]:
    """The due rows, claimed (status `sending`) for this sender."""
    if on_postgres(app.engine):
        release_expired(engine=app.engine)
        lease = app.settings.server.claim_lease
        ids = claim_outbox(engine=app.engine, now=now, limit=limit, lease=lease)
        return _rows(app=app, ids=ids)
    with session_scope(app.engine) as session:
        due = list(
            session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)  # type: ignore[arg-type]
                .limit(limit)
            )
        )
    return _claim(app=app, rows=due)


def _rows(*, app: App, ids: list[int]) -> list[OutboxMessage]:
    if not ids:
        return []
    with session_scope(app.engine) as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))  # type: ignore[union-attr]
                .order_by(OutboxMessage.id)  # type: ignore[arg-type]
            )
        )


def _release(*, app: App, rows: list[OutboxMessage]) -> None:
    if rows:
        _set_many(app=app, ids=[row.id for row in rows if row.id is not None], status="pending")


def _mark_sent(*, app: App, rows: list[OutboxMessage]) -> None:
    """One commit for every row handed over since the last one; empties `rows`."""
    if not rows:
        return
    now = app.clock.now()
    _set_many(
        app=app,
        ids=[r.id for r in rows if r.id is not None],
        status="sent",
        sent_at=now,
        last_error=None,
    )
    for row in rows:
        row.status, row.sent_at, row.last_error = "sent", now, None
        log.info("sent %s %s to %s", row.kind, row.message_id, ", ".join(row.recipients))
    rows.clear()


def _claim(*, app: App, rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """Mark the rows `sending` in one commit; returns those this sender got."""
    ids = [row.id for row in rows]
    with write_scope(app.engine) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")  # type: ignore[union-attr,arg-type]
            .values(status="sending", attempts=OutboxMessage.attempts + 1)
        )
        claimed = list(
            session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")  # type: ignore[union-attr]
                .order_by(OutboxMessage.id)  # type: ignore[arg-type]
            )
        )
    return claimed


def _set(*, app: App, row: OutboxMessage, **values: object) -> None:
    assert row.id is not None
    _set_many(app=app, ids=[row.id], **values)
    for key, value in values.items():
        setattr(row, key, value)


def _set_many(*, app: App, ids: list[int], **values: object) -> None:
    """One UPDATE, retried while the database is locked (a lock error is temporary)."""

    def update_rows() -> None:
        with write_scope(app.engine) as session:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**values)  # type: ignore[union-attr]
            )

    with_retries(update_rows, attempts=LOCK_RETRIES)


def _send_one(*, app: App, row: OutboxMessage, send: object, counts: dict[str, int]) -> bool:
    """Hand one row to the transport; True when it went (the caller marks it sent)."""
    try:
        send(mail_from=row.mail_from, recipients=row.recipients, raw=row.raw)  # type: ignore[operator]
    except TemporaryFailure as exc:
        _retry(app=app, row=row, error=str(exc), counts=counts)
        return False
    except PermanentFailure as exc:
        _fail(app=app, row=row, error=str(exc), counts=counts)
        return False
    row.status = "handed"  # not `sending` any more: a relay failure after this is not its own
    counts["sent"] += 1
    return True


def _retry(*, app: App, row: OutboxMessage, error: str, counts: dict[str, int]) -> None:
    attempts = max(row.attempts, 1)
    # Retried for the queue lifetime (5 days by default, like Postfix), counted from when the
    # row was queued or last put back by `mailbot outbox retry`.
    lifetime = app.settings.server.queue_lifetime_delta
    if utc(app.clock.now()) - utc(row.created_at) >= lifetime:
        text = f"gave up after {attempts} attempts in {app.settings.server.queue_lifetime}"
        _fail(app=app, row=row, error=f"{text}: {error}", counts=counts)
        return
    when = utc(app.clock.now()) + backoff(attempts)
    _set(
        app=app,
        row=row,
        status="pending",
        attempts=attempts,
        next_attempt_at=when,
        last_error=error,
    )
    counts["retry"] += 1
    log.warning("outbox %s: temporary failure (%s), retry at %s", row.id, error, when.isoformat())


def _fail(*, app: App, row: OutboxMessage, error: str, counts: dict[str, int]) -> None:
    _set(app=app, row=row, status="failed", last_error=error)
    counts["failed"] += 1
    log.error("outbox %s: permanent failure: %s", row.id, error)
    report_failure(app=app, row=row, error=error)  # the moderators are told, once per failure
