"""The `mailbot` command line: run the bot, ingest mail, inspect the store.

Sub-command groups of other areas are added at the bottom with `app.add_typer(...)`.
"""

from __future__ import annotations

import json
import logging
import mailbox
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlmodel import select

from mailbot.act import Outcome
from mailbot.app import App, make_app
from mailbot.config import ConfigError, load_settings
from mailbot.db import session_scope
from mailbot.models import Contribution, OutboxMessage
from mailbot.pipeline import load_extensions, process_one
from mailbot.receive import RawIn, store_raw_batch

MBOXRD_QUOTED = re.compile(rb"^>(>*From )", re.M)

cli: typer.Typer = typer.Typer(
    help="mailbot: a public consultation run over plain e-mail.", no_args_is_help=True
)
err = Console(stderr=True)
out = Console()


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    if not verbose:  # migrations say "Context impl SQLiteImpl" on every start otherwise
        logging.getLogger("alembic").setLevel(logging.WARNING)


def open_app(migrate: bool = True) -> App:
    """Load and validate the config once; on errors print them and exit 2."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        for line in exc.errors:
            typer.echo(f"config error: {line}", err=True)
        raise typer.Exit(2) from None
    load_extensions()
    return make_app(settings, migrate=migrate)


@cli.callback()
def main_options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    setup_logging(verbose)


@cli.command()
def run() -> None:
    """Run the bot: SMTP/LMTP listener, pipeline, sender and scheduler, until SIGTERM/SIGINT."""
    from mailbot.run import run_forever

    run_forever(open_app())


db_cli = typer.Typer(help="The database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    app = open_app(migrate=True)
    out.print(f"schema up to date on {app.engine.url.render_as_string(hide_password=True)}")


config_cli = typer.Typer(help="The consultation's configuration.", no_args_is_help=True)
cli.add_typer(config_cli, name="config")


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


def _read_inputs(files: list[str], mbox: bool) -> list[tuple[str, bytes]]:
    inputs: list[tuple[str, bytes]] = []
    for name in files:
        if mbox:
            # The exact bytes of each message, with mboxrd ">From " quoting undone.
            box = mailbox.mbox(name, create=False)
            for key in box.iterkeys():
                raw = MBOXRD_QUOTED.sub(rb"\1", box.get_bytes(key))
                inputs.append((f"{name}#{key}", raw))
        elif name == "-":
            inputs.append(("-", sys.stdin.buffer.read()))
        else:
            inputs.append((name, Path(name).read_bytes()))
    return inputs


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "message_id": outcome.message_id,
        "outcome": outcome.outcome,
        "ref": outcome.ref,
        "topic": outcome.topic,
        "reason": outcome.reason,
    }


@cli.command()
def ingest(
    files: Annotated[list[str], typer.Argument(help="Files of one message each, or - for stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per message.")] = False,
    mbox: Annotated[bool, typer.Option("--mbox", help="The files are mbox mailboxes.")] = False,
    source: Annotated[str, typer.Option(help="Recorded source of the messages.")] = "ingest",
) -> None:
    """Take messages from files or stdin (a Postfix pipe) down the same road as SMTP."""
    app = open_app()
    inputs = _read_inputs(files, mbox)
    outcomes: list[Outcome] = []
    with Progress(console=err, disable=as_json or len(inputs) < 50, transient=True) as bar:
        task = bar.add_task("ingesting", total=len(inputs))
        for start in range(0, len(inputs), 200):
            chunk = inputs[start : start + 200]
            stored = store_raw_batch(
                app=app,
                items=[RawIn(raw=raw, source="mbox" if mbox else source) for _, raw in chunk],
            )
            for result in stored:
                outcome = process_one(app=app, raw_id=result.raw_id)
                if result.duplicate:
                    outcome = Outcome(
                        result.raw_id,
                        outcome.message_id,
                        "duplicate",
                        "already stored",
                        outcome.ref,
                        outcome.topic,
                    )
                outcomes.append(outcome)
                bar.advance(task)
    for (name, _), outcome in zip(inputs, outcomes, strict=True):
        if as_json:
            sys.stdout.write(json.dumps(outcome_json(outcome), ensure_ascii=False) + "\n")
        else:
            out.print(
                f"{name}: {outcome.outcome} {outcome.ref or ''} {outcome.reason}", highlight=False
            )


def _print_rows(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
        return
    table = Table(title=title)
    for column in rows[0] if rows else ["(none)"]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) if v is not None else "" for v in row.values()))
    out.print(table)


contributions_cli = typer.Typer(help="Contributions received.", no_args_is_help=True)
cli.add_typer(contributions_cli, name="contributions")


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
    _print_rows(rows, as_json, "Contributions")


outbox_cli = typer.Typer(help="Outgoing mail.", no_args_is_help=True)
cli.add_typer(outbox_cli, name="outbox")


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
                "not_before": o.next_attempt_at.isoformat() if o.status == "pending" else None,
                "message_id": o.message_id,
                "sent_at": o.sent_at.isoformat() if o.sent_at else None,
                "error": o.last_error,
            }
            for o in session.exec(query)
        ]
    _print_rows(rows, as_json, "Outbox")


def main() -> None:
    cli()


# Sub-command groups of other areas (one line each).
import mailbot.calendar.cli  # noqa: E402  (adds `digest preview|send`, `schedule list`)
import mailbot.conversation.cli  # noqa: E402  (adds `messages list|replay`)
import mailbot.hostile.quarantine  # noqa: E402  (adds `quarantine list`, `replay`)
import mailbot.imap.cli  # noqa: E402  (adds `mailbot imap poll|backfill`)
import mailbot.publish.cli  # noqa: E402, F401  (adds `archive build`, `export`, `report synthesis`)
from mailbot.moderation.cli import moderation_cli  # noqa: E402  (`moderation log`)
from mailbot.threads.cli import threads_cli  # noqa: E402, F401  (adds `threads list|show|rebuild`)

cli.add_typer(moderation_cli, name="moderation")


if __name__ == "__main__":
    main()
