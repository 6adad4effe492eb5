"""The spine's inspection commands: `mailbot db|config|contributions|outbox ...`."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import select

from mailbot.cli_common import open_app, out, print_rows
from mailbot.config import ConfigError, load_settings
from mailbot.db import session_scope
from mailbot.models import Contribution, OutboxMessage

db_cli = typer.Typer(help="The database schema.", no_args_is_help=True)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    app = open_app(migrate=True)
    out.print(f"schema up to date on {app.engine.url.render_as_string(hide_password=True)}")


config_cli = typer.Typer(help="The consultation's configuration.", no_args_is_help=True)


@config_cli.command("check")
def config_check() -> None:
    """Validate config/mailbot.toml (or $MAILBOT_CONFIG) with MAILBOT_* overrides applied."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        for line in exc.errors:
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(1) from None
    c = settings.consultation
    out.print(
        f"{settings.source}: OK — {c.title!r}, {len(c.topics)} topics, "
        f"closes {c.closes_at.isoformat()}",
        highlight=False,
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
                "received_at": c.received_at.isoformat(),
                "subject": c.subject,
                "sha256": c.text_sha256,
            }
            for c in session.exec(query)
        ]
    print_rows(rows, as_json, "Contributions")


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
                "message_id": o.message_id,
                "sent_at": o.sent_at.isoformat() if o.sent_at else None,
                "error": o.last_error,
            }
            for o in session.exec(query)
        ]
    print_rows(rows, as_json, "Outbox")
