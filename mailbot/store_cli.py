"""The spine's inspection commands: `mailbot db|config|contributions|outbox ...`."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import select

from mailbot.cli_common import open_app, out, print_rows, settings_or_exit
from mailbot.clock import utc
from mailbot.config import secret_problem
from mailbot.db import session_scope
from mailbot.delivery import retry_failed
from mailbot.models import Contribution, OutboxMessage

db_cli = typer.Typer(help="The database schema.", no_args_is_help=True)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    app = open_app(migrate=True, create=True)
    out.print(f"schema up to date on {app.engine.url.render_as_string(hide_password=True)}")


config_cli = typer.Typer(help="The consultation's configuration.", no_args_is_help=True)


@config_cli.command("check")
def config_check() -> None:
    """Validate config/mailbot.toml (or $MAILBOT_CONFIG) with MAILBOT_* overrides applied."""
    settings = settings_or_exit(code=1)
    # Anyone who has read the sample config could forge moderator tokens with its secret.
    if problem := secret_problem(settings.server.secret):
        typer.echo(
            f"error: {settings.source}: server.{problem} (`mailbot run` refuses it)", err=True
        )
        raise typer.Exit(1)
    c = settings.consultation
    out.print(
        f"{settings.source}: OK — {c.title!r}, {len(c.topics)} topics, "
        f"closes {c.closes_at.isoformat()}; database {settings.server.db_url}"
    )


contributions_cli = typer.Typer(help="Contributions received.", no_args_is_help=True)


@contributions_cli.command("list")
def contributions_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
) -> None:
    """List contributions with their tracking reference, topic and status."""
    app = open_app()
    with session_scope(app.engine) as session:
        query = select(Contribution).order_by(Contribution.id)  # type: ignore[arg-type]
        if topic:
            query = query.where(Contribution.topic == topic)
        rows = [
            {
                "ref": c.ref,
                "topic": c.topic,
                "status": c.status,
                "late": c.late,
                "language": c.language,
                "received_at": utc(c.received_at),
                "subject": c.subject,
                "sha256": c.text_sha256,
            }
            for c in session.exec(query)
        ]
    print_rows(rows, as_json, "Contributions", ("ref", "topic", "status", "subject"))


outbox_cli = typer.Typer(help="Outgoing mail.", no_args_is_help=True)


@outbox_cli.command("list")
def outbox_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    status: Annotated[str | None, typer.Option(help="pending, sending, sent or failed.")] = None,
) -> None:
    """List outgoing messages and their delivery state."""
    app = open_app()
    with session_scope(app.engine) as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)  # type: ignore[arg-type]
        if status:
            query = query.where(OutboxMessage.status == status)
        rows = [
            {
                "id": o.id,
                "kind": o.kind,
                "to": ", ".join(o.recipients),
                "status": o.status,
                "attempts": o.attempts,
                # a delayed answer (rate limit, brake) waits until then: visible, not lost
                "not_before": utc(o.next_attempt_at) if o.status == "pending" else None,
                "message_id": o.message_id,
                "sent_at": utc(o.sent_at) if o.sent_at else None,
                "error": o.last_error,
            }
            for o in session.exec(query)
        ]
    print_rows(rows, as_json, "Outbox")


@outbox_cli.command("retry")
def outbox_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Outbox ids to send again.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed message.")] = False,
) -> None:
    """Send failed mail again (after fixing the relay, its certificate or the address)."""
    if not ids and not failed:
        typer.echo("name outbox ids, or --failed for every failed message", err=True)
        raise typer.Exit(2)
    app = open_app()
    done = retry_failed(app=app, ids=ids or (), all_failed=failed)
    missing = sorted(set(ids or ()) - set(done))
    out.print(f"queued again: {', '.join(map(str, done)) or 'none'}")
    if missing:
        typer.echo(f"not failed (or unknown): {', '.join(map(str, missing))}", err=True)
        raise typer.Exit(1)
