"""Quarantine: messages a step failed on, with the error; `mailbot quarantine list` shows them
and `mailbot replay ID | --all` walks them down the road again (Mailman's `unshunt`).

The raw bytes never left the store: the pipeline marked the row `quarantined` and rolled back
everything else. Replay puts it back to `new` and runs `process_one`; a message that fails
again stays quarantined with the new error.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.progress import Progress
from sqlmodel import select

from mailbot.act import Outcome
from mailbot.app import App
from mailbot.cli_common import err, open_app, out, print_rows
from mailbot.db import session_scope
from mailbot.models import RawMessage
from mailbot.pipeline import process_one


class NotQuarantined(Exception):
    """Only quarantined messages are replayed (a finished one would be filed twice)."""


def quarantined(*, app: App) -> list[RawMessage]:
    with session_scope(app.engine) as session:
        return list(
            session.exec(
                select(RawMessage).where(RawMessage.state == "quarantined").order_by(RawMessage.id)  # type: ignore[arg-type]
            )
        )


def replay(*, app: App, raw_id: int) -> Outcome:
    """Put one quarantined message back to `new` and process it now."""
    with session_scope(app.engine) as session:
        raw = session.get(RawMessage, raw_id, with_for_update=True)
        if raw is None:
            raise LookupError(f"no message {raw_id}")
        if raw.state != "quarantined":
            raise NotQuarantined(f"message {raw_id} is {raw.state}, not quarantined")
        raw.state, raw.outcome = "new", None
        session.add(raw)
    return process_one(app=app, raw_id=raw_id)


def _row(raw: RawMessage) -> dict[str, Any]:
    return {
        "id": raw.id,
        "received_at": raw.received_at.isoformat(),
        "source": raw.source,
        "envelope_from": raw.envelope_from,
        "message_id": raw.message_id,
        "size": raw.size,
        "reason": (raw.reason or "").splitlines()[0] if raw.reason else None,
    }


quarantine_cli = typer.Typer(
    help="Messages a step failed on, kept for replay.", no_args_is_help=True
)
# `mailbot replay`: a command of the root, merged into it by the road (no group name).
replay_cli = typer.Typer()


@quarantine_cli.command("list")
def quarantine_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List quarantined messages with the error that sent them there."""
    app = open_app()
    print_rows([_row(raw) for raw in quarantined(app=app)], as_json, "Quarantine")


@replay_cli.command("replay")
def replay_command(
    ids: Annotated[list[int] | None, typer.Argument(help="Quarantined message ids.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every quarantined message.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per message.")] = False,
) -> None:
    """Process quarantined messages again; those that fail again stay quarantined."""
    if bool(ids) == every:
        err.print("give message ids or --all (not both)")
        raise typer.Exit(2)
    app = open_app()
    targets = [r.id for r in quarantined(app=app) if r.id is not None] if every else list(ids or [])
    failed = 0
    with Progress(console=err, disable=as_json or len(targets) < 20, transient=True) as bar:
        task = bar.add_task("replaying", total=len(targets))
        for raw_id in targets:
            try:
                outcome = replay(app=app, raw_id=raw_id)
            except (LookupError, NotQuarantined) as exc:
                err.print(f"{raw_id}: {exc}", highlight=False)
                failed += 1
                continue
            finally:
                bar.advance(task)
            failed += outcome.outcome == "quarantine"
            row = {
                "id": raw_id,
                "outcome": outcome.outcome,
                "ref": outcome.ref,
                "reason": outcome.reason,
            }
            if as_json:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                out.print(
                    f"{raw_id}: {outcome.outcome} {outcome.ref or ''} {outcome.reason}",
                    highlight=False,
                )
    if failed:
        raise typer.Exit(1)
