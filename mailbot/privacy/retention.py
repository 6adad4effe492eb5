"""Retention: raw messages of a closed consultation are purged `[privacy] keep_raw_days`
after it closed (their SHA-256 and the parsed public text stay); `mailbot privacy purge`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text, update
from sqlmodel import Session, col

from mailbot.app import App
from mailbot.calendar.registry import record_sent, sent_records
from mailbot.deadline import deadline_in_force
from mailbot.models import RawMessage


def purge_due(*, app: App, session: Session, now: datetime) -> bool:
    days = app.settings.privacy.keep_raw_days
    if days <= 0:
        return False
    return now >= deadline_in_force(app=app, session=session) + timedelta(days=days)


def purge_raw(*, app: App, session: Session, now: datetime, force: bool = False) -> int:
    """Blank every raw message still held, when the retention time is over (or `force`)."""
    if not (force or purge_due(app=app, session=session, now=now)):
        return 0
    result = session.execute(
        update(RawMessage)
        .where(col(RawMessage.raw) != b"", col(RawMessage.state) != "new")
        .values(raw=b"", envelope_from=None, envelope_to=[])
    )
    return int(getattr(result, "rowcount", 0) or 0)


def vacuum(*, app: App) -> None:
    """Give the freed pages back, so blanked bytes are gone from the file (SQLite) or the
    table's dead rows (PostgreSQL)."""
    with app.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("VACUUM"))
        if app.engine.dialect.name == "sqlite":
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def purge_times(*, app: App, session: Session) -> list[datetime]:
    """The calendar job's moment: `keep_raw_days` after the deadline in force."""
    days = app.settings.privacy.keep_raw_days
    if days <= 0:
        return []
    return [deadline_in_force(app=app, session=session) + timedelta(days=days)]


def purge_due_raw(*, app: App, session: Session, now: datetime, armed_at: datetime) -> str | None:
    """Calendar job: purge the raw mail once retention is over (once: its sent_record)."""
    c = app.consultation
    times = purge_times(app=app, session=session)
    if not times or now < times[0]:
        return None
    if sent_records(session=session, consultation_id=c.id, kind="raw-purge"):
        return None
    purged = purge_raw(app=app, session=session, now=now)
    record_sent(
        app=app,
        session=session,
        kind="raw-purge",
        period="raw-purge",
        due_at=times[0],
        messages=0,
    )
    return f"raw mail purged: {purged} message(s)"
