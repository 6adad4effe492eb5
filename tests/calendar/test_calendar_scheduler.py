"""The real thing: `mailbot run` with its BackgroundScheduler and its SQLAlchemyJobStore, stopped
across two digest periods, restarted twice: one catch-up digest, then nothing more."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text

from mailbot.calendar.scheduler import JOBSTORE_TABLE, stored_next_runs
from mailbot.clock import FrozenClock
from tests.calendar.calendar_mail import calendar_app, contribute_weekly, outbox, records
from tests.support import wait_for


def _messages(caplog: pytest.LogCaptureFixture, needle: str) -> int:
    return sum(needle in r.getMessage() for r in caplog.records)


def test_restart_with_real_scheduler_sends_exactly_one_catch_up(
    tmp_path: Path,
    database_url: str,
    bot_factory: Callable[[Any], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="mailbot.calendar")
    clock = FrozenClock(datetime(2026, 11, 4, 12, 0, tzinfo=UTC))
    app = calendar_app(database_url, tmp_path / "var", clock)
    first = bot_factory(app)  # first start: arms the calendar, stores the jobs
    assert wait_for(lambda: _messages(caplog, "start-up check") == 1, timeout=30)
    assert {"digest", "reminders", "calendar-sync"} <= set(stored_next_runs(app))
    first.stop()
    # The job store is in the app's database, in the test's own schema on PostgreSQL (other
    # schemas in the shared database, such as another run's leftovers, are none of its business).
    with app.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            where = conn.execute(
                text(
                    "SELECT table_schema = current_schema() FROM information_schema.tables"
                    " WHERE table_name = :t AND table_schema IN (current_schema(), 'public')"
                ),
                {"t": JOBSTORE_TABLE},
            )
            assert where.scalars().all() == [True]

    contribute_weekly(app, clock, count=2)
    # As APScheduler sees it after a long stop: the digest's run time passed while down.
    store = SQLAlchemyJobStore(engine=app.engine, tablename=JOBSTORE_TABLE)
    store.start(BackgroundScheduler(timezone=UTC), "default")  # never started: no race
    job = store.lookup_job("digest")
    job.next_run_time = datetime.now(UTC) - timedelta(minutes=5)
    store.update_job(job)
    clock.set(datetime(2026, 11, 17, 12, 0, tzinfo=UTC))  # two Mondays later

    second = bot_factory(app)
    assert wait_for(lambda: _messages(caplog, "start-up check") == 2, timeout=30)
    # APScheduler coalesces the missed runs into one, which finds the catch-up already sent.
    assert wait_for(lambda: _messages(caplog, "calendar job digest fired: nothing due"), timeout=30)
    (row,) = outbox(app, "digest")
    assert row.dedupe_key == "digest:wgig:2026-11-16T07:00Z"
    assert wait_for(lambda: outbox(app, "digest")[0].status == "sent", timeout=30)
    second.stop()

    third = bot_factory(app)  # restarting right after the digest sends nothing more
    assert wait_for(lambda: _messages(caplog, "start-up check") == 3, timeout=30)
    third.stop()
    assert len(outbox(app, "digest")) == 1
    assert [r.period for r in records(app, "digest")] == ["2026-11-16T07:00Z"]
    assert _messages(caplog, "calendar catch-up") == 1
