"""`mailbot privacy purge` (retention and the follow-up of erasures) and `mailbot privacy
report ADDRESS` (everything held about one address, as JSON: GDPR art. 15)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlmodel import Session, col, select

from mailbot.app import App
from mailbot.cli_common import open_app
from mailbot.db import session_scope
from mailbot.hostile.models import BounceEvent, ReplyLog
from mailbot.models import Contribution, OutboxMessage, Participant, RawMessage
from mailbot.moderation.models import ModerationDecision, ModerationToken
from mailbot.privacy.follow import follow_erasures
from mailbot.privacy.retention import purge_raw, vacuum

privacy_cli = typer.Typer(
    help="Retention, erasure follow-up, and what is held about an address.",
    no_args_is_help=True,
)


def purge(*, app: App, force: bool = False, compact: bool = True) -> dict[str, int]:
    """Blank the raw mail past retention, finish erasures, then compact the database."""
    now = app.clock.now()
    with session_scope(app.engine) as session:
        raws = purge_raw(app=app, session=session, now=now, force=force)
        followed = follow_erasures(app=app, session=session, now=now)
    if compact:
        vacuum(app=app)
    return {"raw_purged": raws, "erasures_completed": followed}


@privacy_cli.command("purge")
def purge_command(
    force: Annotated[bool, typer.Option("--force", help="Purge raw mail now.")] = False,
    no_vacuum: Annotated[bool, typer.Option("--no-vacuum")] = False,
) -> None:
    """Purge raw messages past [privacy] keep_raw_days; finish pending erasures."""
    app = open_app()
    try:
        typer.echo(json.dumps(purge(app=app, force=force, compact=not no_vacuum)))
    finally:
        app.engine.dispose()


def stamp(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def held_about(*, session: Session, address: str) -> dict[str, Any]:
    """Every row that names the address, or belongs to its participant."""
    address = address.strip().strip("<>").lower()
    person = session.exec(select(Participant).where(Participant.email == address)).first()
    report: dict[str, Any] = {"address": address, "participant": None, "contributions": []}
    if person is not None:
        report["participant"] = {k: stamp(v) for k, v in person.model_dump().items()}
        rows = session.exec(
            select(Contribution)
            .where(Contribution.participant_id == person.id)
            .order_by(col(Contribution.id))
        )
        report["contributions"] = [
            {k: stamp(v) for k, v in c.model_dump(exclude={"html"}).items()} for c in rows
        ]
    raws = session.exec(select(RawMessage).where(RawMessage.envelope_from == address))
    report["raw_messages"] = [
        {"id": r.id, "received_at": stamp(r.received_at), "outcome": r.outcome, "size": r.size}
        for r in raws
    ]
    report["sent_to"] = [
        {"id": o.id, "kind": o.kind, "status": o.status, "created_at": stamp(o.created_at)}
        for o in session.exec(select(OutboxMessage))
        if address in (r.lower() for r in o.recipients)
    ]
    report["moderation_log"] = [
        {"at": stamp(d.at), "action": d.action, "item": d.item, "outcome": d.outcome}
        for d in session.exec(select(ModerationDecision).where(ModerationDecision.actor == address))
    ]
    report["tokens"] = [
        {"action": t.action, "item": t.item, "used": t.used_at is not None}
        for t in session.exec(select(ModerationToken).where(ModerationToken.issued_to == address))
    ]
    report["bounces"] = [
        {"at": stamp(b.at), "severity": b.severity, "status": b.status}
        for b in session.exec(select(BounceEvent).where(BounceEvent.address == address))
    ]
    report["answers"] = len(
        list(session.exec(select(ReplyLog.id).where(ReplyLog.recipient == address)))
    )
    return report


@privacy_cli.command("report")
def report_command(address: str) -> None:
    """Print, as JSON, everything held about ADDRESS."""
    app = open_app()
    try:
        with Session(app.engine) as session:
            report = held_about(session=session, address=address)
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    finally:
        app.engine.dispose()
