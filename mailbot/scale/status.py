"""`mailbot status`: what an operator watches when several processes share one database.

Backlog of stored messages and of outgoing mail (how many, how old the oldest), which process
leads the scheduler and the IMAP poller, and every process's heartbeat per role.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy import func
from sqlmodel import Session, col, select

from mailbot.app import App
from mailbot.cli_common import open_app, out, print_rows
from mailbot.clock import utc
from mailbot.db import session_scope
from mailbot.models import OutboxMessage, RawMessage
from mailbot.scale.heartbeat import EVERY
from mailbot.scale.models import Heartbeat
from mailbot.spool import waiting

STALE = 3 * EVERY + 1  # seconds without a beat before a role counts as gone

status_cli = typer.Typer()


def _backlog(session: Session, column: Any, where: Any, now: datetime) -> dict[str, Any]:
    count, oldest = session.exec(select(func.count(), func.min(column)).where(where)).one()
    age = (utc(now) - utc(oldest)).total_seconds() if oldest else None
    return {"count": int(count), "oldest_age_s": round(age, 1) if age is not None else None}


def status(*, app: App) -> dict[str, Any]:
    """The figures, as one JSON-able dict."""
    now = app.clock.now()
    wall = datetime.now().astimezone()
    with session_scope(app.engine) as session:
        stored = _backlog(session, RawMessage.received_at, RawMessage.state == "new", now)
        queued = col(OutboxMessage.status).in_(("pending", "sending"))
        outbox = _backlog(session, OutboxMessage.created_at, queued, now)
        outbox["sending"] = session.exec(
            select(func.count()).where(OutboxMessage.status == "sending")
        ).one()
        beats = session.exec(select(Heartbeat).order_by(col(Heartbeat.role))).all()
    processes: list[dict[str, Any]] = [
        {
            "process": b.process,
            "role": b.role,
            "age_s": round((wall - utc(b.beat_at)).total_seconds(), 1),
            "leads": b.leads,
            "up_since": utc(b.started_at).isoformat(),
        }
        for b in beats
    ]
    for p in processes:
        p["alive"] = p["age_s"] <= STALE
    # Just after a fail-over the dead leader's last beat still looks alive: the freshest wins.
    by_age = sorted(processes, key=lambda p: -p["age_s"])
    leaders = {p["role"]: p["process"] for p in by_age if p["leads"] and p["alive"]}
    roles = sorted({p["role"] for p in processes if p["alive"]})
    alive = {r: sum(1 for p in processes if p["alive"] and p["role"] == r) for r in roles}
    return {
        # SQLite: 250'd and on disk in the listener's spool, not yet in the database.
        "spooled_bytes": waiting(app.settings.server.data_dir),
        "stored": stored,
        "outbox": outbox,
        "leaders": leaders,
        "alive": alive,
        "processes": processes,
    }


@status_cli.command("status")
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Backlog (stored messages, outgoing mail), leaders and per-role heartbeats."""
    figures = status(app=open_app())
    if as_json:
        out.print(json.dumps(figures), soft_wrap=True)
        return
    if figures["spooled_bytes"]:
        out.print(f"in the listener's spool, not yet stored: {figures['spooled_bytes']} bytes")
    for key, what in (("stored", "stored, not yet filed"), ("outbox", "outgoing, not yet sent")):
        age = figures[key]["oldest_age_s"]
        oldest = f" (oldest {age} s)" if age is not None else ""
        out.print(f"{what}: {figures[key]['count']}{oldest}")
    for role in ("scheduler", "imap"):
        out.print(f"{role} leader: {figures['leaders'].get(role, '-')}")
    print_rows(figures["processes"], False, "Processes")
