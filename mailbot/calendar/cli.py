"""`mailbot digest preview|send` and `mailbot schedule list`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.exc import IntegrityError

from mailbot.calendar.digest_mail import preview_digest, send_digest_now
from mailbot.calendar.registry import run_job, sent_records
from mailbot.calendar.scheduler import SYNC_JOB, stored_next_runs
from mailbot.cli_common import err, open_app, out
from mailbot.clock import utc
from mailbot.db import session_scope

digest_cli = typer.Typer(help="The weekly digest.", no_args_is_help=True)
schedule_cli = typer.Typer(help="Scheduled jobs (reminders, digest).", no_args_is_help=True)


@digest_cli.command("preview")
def digest_preview(
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part.")] = False,
    lang: Annotated[str | None, typer.Option(help="Language of the digest's own text.")] = None,
) -> None:
    """Print the next digest as it stands now (since the last digest, up to now)."""
    app = open_app()
    with session_scope(app.engine) as session:
        _, (subject, text, html_part) = preview_digest(app=app, session=session, lang=lang)
    sys.stdout.write(html_part if html else f"Subject: {subject}\n\n{text}")


@digest_cli.command("send")
def digest_send(
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="Send now, covering up to this moment, "
            "instead of only what the schedule says is due.",
        ),
    ] = False,
) -> None:
    """Queue the digest (the sender delivers it); never sends a period twice."""
    app = open_app()
    try:
        if now:
            with session_scope(app.engine) as session:
                done = send_digest_now(app=app, session=session)
        else:
            done = run_job(app=app, name="digest")
    except IntegrityError:
        done = None
    out.print(
        done or "nothing to send: the last digest already covers this period", highlight=False
    )


@schedule_cli.command("list")
def schedule_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Next run of every job: in the job store (as `mailbot run` left it) and by the calendar."""
    app = open_app()
    stored = stored_next_runs(app)
    now = app.clock.now()
    rows = []
    with session_scope(app.engine) as session:
        for job in app.road.jobs:
            times = [t for t in job.fire_times(app=app, session=session) if t > now]
            kind = job.name.rstrip("s")
            last = sent_records(session=session, consultation_id=app.consultation.id, kind=kind)
            rows.append(
                {
                    "job": job.name,
                    "next_run": _iso(stored.get(job.name)),
                    "next_due": times[0].isoformat() if times else None,
                    "remaining": len(times),
                    "last_sent": f"{last[-1].period} at {utc(last[-1].created_at).isoformat()}"
                    if last
                    else None,
                }
            )
    rows.append(
        {
            "job": SYNC_JOB,
            "next_run": _iso(stored.get(SYNC_JOB)),
            "next_due": None,
            "remaining": None,
            "last_sent": None,
        }
    )
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
        return
    if not stored:
        err.print("the job store is empty: `mailbot run` has not started the scheduler yet")
    from rich.table import Table

    table = Table(title="Scheduled jobs (UTC)")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(table)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None
