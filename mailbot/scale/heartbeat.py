"""Heartbeats: each process writes, per role, when it last was alive and whether it leads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from mailbot.app import App
from mailbot.db import session_scope
from mailbot.retry import with_retries
from mailbot.runtime import Runtime
from mailbot.scale.claims import owner
from mailbot.scale.models import Heartbeat

log = logging.getLogger(__name__)

EVERY = 2.0  # seconds between beats; `mailbot status` calls a role stale after a few missed


def beat(*, app: App, roles: frozenset[str], leading: set[str], started: datetime) -> None:
    """One upsert of this process's rows (wall time: heartbeats are read by other hosts)."""
    now = datetime.now().astimezone()
    rows = [
        {
            "process": owner(),
            "role": role,
            "started_at": started,
            "beat_at": now,
            "leads": role in leading,
        }
        for role in sorted(roles)
    ]
    dialect = postgresql if app.engine.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(Heartbeat.__table__)  # type: ignore[attr-defined]
    upsert = insert.on_conflict_do_update(
        index_elements=["process", "role"],
        set_={"beat_at": insert.excluded.beat_at, "leads": insert.excluded.leads},
    )
    with session_scope(app.engine) as session:
        session.execute(upsert, rows)


def forget(*, app: App) -> None:
    """A process that stops cleanly takes its rows away."""
    with session_scope(app.engine) as session:
        session.execute(delete(Heartbeat).where(Heartbeat.process == owner()))  # type: ignore[arg-type]


async def heartbeat(rt: Runtime) -> None:
    started = datetime.now().astimezone()
    try:
        while not rt.stop.is_set():
            try:
                await asyncio.to_thread(
                    with_retries,
                    lambda: beat(app=rt.app, roles=rt.roles, leading=rt.leading, started=started),
                )
            except Exception as exc:
                log.warning("heartbeat not written: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rt.stop.wait(), timeout=EVERY)
    finally:
        try:
            await asyncio.to_thread(forget, app=rt.app)
        except Exception as exc:
            log.warning("heartbeat rows not removed: %s", exc)
