"""Calendar jobs (listed in order in `Road.jobs`) and the runner for them.

A job is `run(*, app, session, now, armed_at) -> str | None`: it looks at the calendar and
the `sent_record` table, sends what is due at `now` (outbox rows + one SentRecord, in the
same transaction) and says what it did. `fire_times(*, app, session)` lists the moments it
may fall due, for the APScheduler trigger. Jobs never read the wall clock: `app.clock.now()`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mailbot.app import App
from mailbot.calendar.models import SentRecord
from mailbot.clock import utc
from mailbot.db import session_scope

log = logging.getLogger(__name__)

JobRun = Callable[..., "str | None"]
FireTimes = Callable[..., list[datetime]]


@dataclass(frozen=True)
class CalendarJob:
    name: str
    run: JobRun
    fire_times: FireTimes


# One runner at a time in this process (the scheduler's catch-up and a fired job may overlap);
# other processes (`mailbot digest send`) are kept out by the unique key of sent_record.
_RUN_LOCK = threading.Lock()


def get_job(*, app: App, name: str) -> CalendarJob:
    for job in app.road.jobs:
        if job.name == name:
            return job
    raise LookupError(f"no calendar job {name!r}")


def record_sent(
    *,
    app: App,
    session: Session,
    kind: str,
    period: str,
    due_at: datetime,
    messages: int,
    window: tuple[datetime, datetime] | None = None,
    issue: int | None = None,
) -> SentRecord:
    row = SentRecord(
        consultation_id=app.consultation.id,
        kind=kind,
        period=period,
        due_at=due_at,
        window_start=window[0] if window else None,
        window_end=window[1] if window else None,
        issue=issue,
        messages=messages,
        created_at=app.clock.now(),
    )
    session.add(row)
    session.flush()  # a second runner fails here, before anything is committed
    return row


def sent_records(*, session: Session, consultation_id: str, kind: str) -> list[SentRecord]:
    return list(
        session.exec(
            select(SentRecord)
            .where(SentRecord.consultation_id == consultation_id, SentRecord.kind == kind)
            .order_by(SentRecord.due_at, SentRecord.id)  # type: ignore[arg-type]
        )
    )


def armed_at(*, app: App) -> datetime:
    """When the calendar first ran here; occurrences due before it are never caught up
    (a bot installed mid-consultation does not mail out the past)."""
    c = app.consultation
    with session_scope(app.engine) as session:
        rows = sent_records(session=session, consultation_id=c.id, kind="armed")
        if rows:
            return utc(rows[0].due_at)
    now = app.clock.now()
    try:
        with session_scope(app.engine) as session:
            record_sent(
                app=app, session=session, kind="armed", period="armed", due_at=now, messages=0
            )
        return now
    except IntegrityError:  # armed meanwhile by another process
        return armed_at(app=app)


def run_job(*, app: App, name: str) -> str | None:
    """Run one job at `app.clock.now()` in its own transaction; None when nothing was due."""
    job = get_job(app=app, name=name)
    with _RUN_LOCK:
        armed = armed_at(app=app)
        try:
            with session_scope(app.engine) as session:
                return job.run(app=app, session=session, now=app.clock.now(), armed_at=armed)
        except IntegrityError:
            log.info("calendar job %s: already done by another runner", name)
            return None


def run_due_jobs(*, app: App) -> dict[str, str | None]:
    """Every registered job once; one failing job does not stop the others."""
    done: dict[str, str | None] = {}
    for job in app.road.jobs:
        try:
            done[job.name] = run_job(app=app, name=job.name)
        except Exception as exc:
            log.exception("calendar job %s failed", job.name)
            done[job.name] = f"failed: {type(exc).__name__}: {exc}"
    return done
