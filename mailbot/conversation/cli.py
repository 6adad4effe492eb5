"""`mailbot messages list [--outcome X]` and `mailbot messages replay ID...`: every stored
message, whatever became of it, can be listed and walked down the road again.

Replay is allowed for messages that filed nothing (auto-reply, loop, invalid, complaint,
logged reply, quarantine) and for bounces (their score is taken back first), so a wrong
classification is repaired after a fix: the row goes back to `new` and `process_one`
decides again. A contribution or a command already acted on (a reference given, an answer
sent) is refused: replaying it would file or run it twice.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from sqlmodel import col, select

from mailbot.act import Outcome
from mailbot.app import App
from mailbot.cli_common import err, open_app, out, print_rows
from mailbot.conversation.complaints import Complaint
from mailbot.db import session_scope
from mailbot.hostile.models import BounceEvent
from mailbot.models import Participant, RawMessage
from mailbot.pipeline import process_one

REPLAYABLE = frozenset(
    {"autoreply", "loop", "invalid", "complaint", "reply-logged", "quarantine", "bounce"}
)

messages_cli = typer.Typer(help="Every stored message and what became of it.", no_args_is_help=True)


class NotReplayable(Exception):
    """The message was filed or acted on: replaying it would do so twice."""


def replay_message(*, app: App, raw_id: int) -> Outcome:
    with session_scope(app.engine) as session:
        raw = session.get(RawMessage, raw_id, with_for_update=True)
        if raw is None:
            raise LookupError(f"no message {raw_id}")
        outcome = raw.outcome or raw.state
        if raw.state != "new" and outcome not in REPLAYABLE:
            raise NotReplayable(f"message {raw_id} is {outcome}: acted on, not replayed")
        for row in session.exec(select(Complaint).where(Complaint.raw_id == raw_id)):
            session.delete(row)
        for event in session.exec(select(BounceEvent).where(BounceEvent.raw_id == raw_id)):
            participant = (
                session.get(Participant, event.participant_id) if event.participant_id else None
            )
            if participant is not None:  # take back what this bounce added
                participant.bounce_score = max(0.0, participant.bounce_score - event.score)
                session.add(participant)
            session.delete(event)
        raw.state, raw.outcome = "new", None
        session.add(raw)
    return process_one(app=app, raw_id=raw_id)


@messages_cli.command("list")
def messages_list(
    outcome: Annotated[str | None, typer.Option(help="e.g. autoreply, complaint, bounce.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List stored messages with their outcome and reason."""
    app = open_app()
    with session_scope(app.engine) as session:
        query = select(RawMessage).order_by(col(RawMessage.id).desc()).limit(limit)
        if outcome:
            query = query.where(RawMessage.outcome == outcome)
        rows = [
            {
                "id": r.id,
                "received_at": r.received_at.isoformat(),
                "source": r.source,
                "from": r.envelope_from,
                "message_id": r.message_id,
                "outcome": r.outcome or r.state,
                "reason": (r.reason or "").splitlines()[0] if r.reason else None,
            }
            for r in session.exec(query)
        ]
    print_rows(rows, as_json, "Messages")


@messages_cli.command("replay")
def messages_replay(
    ids: Annotated[list[int], typer.Argument(help="Stored message ids.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per message.")] = False,
) -> None:
    """Classify and act on stored messages again (those that filed nothing)."""
    app = open_app()
    failed = 0
    for raw_id in ids:
        try:
            result = replay_message(app=app, raw_id=raw_id)
        except (LookupError, NotReplayable) as exc:
            err.print(f"{raw_id}: {exc}", highlight=False)
            failed += 1
            continue
        row = {"id": raw_id, "outcome": result.outcome, "ref": result.ref, "reason": result.reason}
        if as_json:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            out.print(f"{raw_id}: {result.outcome} {result.ref or ''} {result.reason}")
    if failed:
        raise typer.Exit(1)
