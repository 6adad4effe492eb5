"""APScheduler inside `mailbot run`: the alarm clock that wakes the calendar jobs.

A BackgroundScheduler, in its own thread: the SQLAlchemyJobStore's SQL and the jobs never run
on the event loop that answers SMTP. A job that queued mail wakes the sender through the loop.

APScheduler only decides WHEN to look; WHAT is due is decided by the jobs' plain functions
from `app.clock.now()`, the calendar and the sent_record table, so firing twice (a coalesced
misfire, the start-up catch-up, a manual `digest send`) never sends twice.

- Jobs live in the app's database (SQLAlchemyJobStore on the app's engine, so on PostgreSQL
  the table follows the URL's search_path), one per registered calendar job, with an `AtTimes`
  trigger listing the moments the job falls due, plus `calendar-sync` every 10 minutes to
  follow deadline changes (EXTEND/CLOSE).
- coalesce=True, max_instances=1 and misfire_grace_time ([calendar] misfire_grace_time): runs
  missed while the bot was down collapse into ONE run at start (if within the grace time).
- At start, before the scheduler resumes, every job runs once (`run_due_jobs`): the catch-up
  happens even when the outage was longer than the grace time. A stored job whose trigger is
  unchanged is kept (its missed run is coalesced, then finds nothing left to do).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Float, MetaData, Table, inspect, select

from mailbot.app import App
from mailbot.calendar.registry import run_due_jobs, run_job
from mailbot.db import session_scope
from mailbot.runtime import Runtime, Service

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
SYNC_JOB = "calendar-sync"
SYNC_EVERY = timedelta(minutes=10)


class AtTimes(BaseTrigger):
    """Fires at each of a fixed list of moments (the calendar's occurrences, UTC)."""

    def __init__(self, times: list[datetime]) -> None:
        self.times = tuple(sorted({t.astimezone(UTC) for t in times}))

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is not None:
            return next((t for t in self.times if t > previous_fire_time), None)
        return next((t for t in self.times if t >= now), None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AtTimes) and other.times == self.times

    def __hash__(self) -> int:
        return hash(self.times)

    def __str__(self) -> str:
        return f"at {len(self.times)} fixed time(s)"

    def __repr__(self) -> str:
        return f"<AtTimes {[t.isoformat() for t in self.times]}>"


@dataclass
class Running:
    runtime: Runtime
    scheduler: BaseScheduler
    loop: asyncio.AbstractEventLoop  # the bot's event loop: jobs wake its sender through it

    def wake_sender(self) -> None:
        self.loop.call_soon_threadsafe(self.runtime.wake_sender.set)


# The bot running in this process, per consultation id: stored jobs refer to it by that id
# (the App itself cannot be pickled into the job store).
RUNNING: dict[str, Running] = {}


def make_scheduler(app: App) -> BackgroundScheduler:
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=app.engine, tablename=JOBSTORE_TABLE)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": app.settings.calendar.misfire_grace_time,
        },
        timezone=UTC,
    )


def calendar_triggers(app: App) -> dict[str, AtTimes]:
    with session_scope(app.engine) as session:
        return {
            job.name: AtTimes(job.fire_times(app=app, session=session)) for job in app.road.jobs
        }


def sync_jobs(scheduler: BaseScheduler, app: App) -> None:
    """Make the stored jobs match the calendar; keep a job whose trigger did not change."""
    args = [app.consultation.id]
    for name, trigger in calendar_triggers(app).items():
        existing = scheduler.get_job(name)
        if (
            existing is not None
            and existing.trigger == trigger
            and list(existing.args) == [name, *args]
        ):
            continue
        scheduler.add_job(
            fire_job, trigger=trigger, id=name, name=name, args=[name, *args], replace_existing=True
        )
        log.info("calendar job %s scheduled %r", name, trigger)
    if scheduler.get_job(SYNC_JOB) is None:
        scheduler.add_job(
            resync,
            IntervalTrigger(seconds=SYNC_EVERY.total_seconds()),
            id=SYNC_JOB,
            name=SYNC_JOB,
            args=args,
            replace_existing=True,
        )


def fire_job(name: str, consultation_id: str) -> None:
    """What APScheduler runs (in its thread pool): one calendar job, at the app's clock."""
    running = RUNNING.get(consultation_id)
    if running is None:
        log.warning("calendar job %s fired with no bot running for %s", name, consultation_id)
        return
    done = run_job(app=running.runtime.app, name=name)
    log.info("calendar job %s fired: %s", name, done or "nothing due")
    if done:
        running.wake_sender()


def resync(consultation_id: str) -> None:
    running = RUNNING.get(consultation_id)
    if running is not None:
        sync_jobs(running.scheduler, running.runtime.app)


async def calendar_service(rt: Runtime) -> None:
    app = rt.app
    scheduler = make_scheduler(app)
    RUNNING[app.consultation.id] = Running(rt, scheduler, asyncio.get_running_loop())
    try:
        await asyncio.to_thread(scheduler.start, paused=True)
        await asyncio.to_thread(sync_jobs, scheduler, app)
        done = await asyncio.to_thread(run_due_jobs, app=app)
        log.info("calendar: start-up check at %s done", app.clock.now().isoformat())
        if any(done.values()):
            log.info("calendar catch-up: %s", "; ".join(f"{k}: {v}" for k, v in done.items() if v))
            rt.wake_sender.set()
        await asyncio.to_thread(scheduler.resume)
        await rt.stop.wait()
    finally:
        if scheduler.running:
            await asyncio.to_thread(scheduler.shutdown, wait=False)
        RUNNING.pop(app.consultation.id, None)


def stored_next_runs(app: App) -> dict[str, datetime | None]:
    """Next run of every job in the job store, read without unpickling (for `schedule list`)."""
    if not inspect(app.engine).has_table(JOBSTORE_TABLE):
        return {}
    table = Table(JOBSTORE_TABLE, MetaData(), autoload_with=app.engine)
    column: Any = table.c.next_run_time
    with app.engine.connect() as conn:
        rows = conn.execute(select(table.c.id, column.cast(Float))).all()
    return {
        job_id: datetime.fromtimestamp(ts, UTC) if ts is not None else None for job_id, ts in rows
    }


def enabled(app: App) -> bool:
    return app.settings.calendar.scheduler


CALENDAR_SERVICE = Service("calendar scheduler", calendar_service, enabled, role="scheduler")
