"""The `mailbot` command line: run the bot, ingest mail, inspect the store.

Sub-command groups of other areas are added at the bottom with `app.add_typer(...)`.
"""

from __future__ import annotations

import json
import mailbox
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from sqlmodel import select

from mailbot.act import Outcome
from mailbot.app import App, make_app
from mailbot.clock import utc
from mailbot.config import ConfigError, Settings, load_settings, secret_problem
from mailbot.db import session_scope, sqlite_file
from mailbot.logs import setup_logging
from mailbot.models import Contribution, OutboxMessage
from mailbot.pipeline import load_extensions, process_one
from mailbot.receive import RawIn, store_raw_batch
from mailbot.tables import literal, print_rows

MBOXRD_QUOTED = re.compile(rb"^>(>*From )", re.M)

cli: typer.Typer = typer.Typer(
    help="mailbot: a public consultation run over plain e-mail.", no_args_is_help=True
)
# Text from mail (subjects, names) goes through these: never read as Rich markup.
err = Console(stderr=True, markup=False, highlight=False)
out = Console(markup=False, highlight=False)
# --config of this invocation (None: $MAILBOT_CONFIG, then the usual places).
CONFIG: dict[str, Path | None] = {"path": None}


def settings_or_exit(code: int = 2) -> Settings:
    """Load and validate the config; on errors print each (with its file line or variable)."""
    try:
        return load_settings(CONFIG["path"])
    except ConfigError as exc:
        for line in exc.errors:
            typer.echo(f"config error: {line}", err=True)
        raise typer.Exit(code) from None


def open_app(migrate: bool = True, create: bool = False) -> App:
    """Load the config and open the database. Only `run` and `db upgrade` create one: any
    other command on a missing database says where it looked instead of starting empty."""
    settings = settings_or_exit()
    path = sqlite_file(settings.server.db_url)
    if not create and path is not None and not path.exists():
        typer.echo(
            f"no database at {path} (config {settings.source}); "
            "create it with `mailbot db upgrade` or point MAILBOT_CONFIG at the right config",
            err=True,
        )
        raise typer.Exit(2)
    load_extensions()
    return make_app(settings, migrate=migrate)


@cli.callback()
def main_options(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug logging, SMTP protocol lines too.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Config file (default: $MAILBOT_CONFIG, ./config/mailbot.toml, "
            "/etc/mailbot/mailbot.toml).",
        ),
    ] = None,
    log_format: Annotated[
        str, typer.Option("--log-format", help="Log lines as 'text' or 'json'.")
    ] = "text",
) -> None:
    plain_flags(ctx.command, ctx)  # before a sub-command's --help is read
    CONFIG["path"] = config.absolute() if config else None
    setup_logging(verbose=verbose, fmt="json" if log_format == "json" else "text")


@cli.command()
def run() -> None:
    """Run the bot: SMTP/LMTP listener, pipeline, sender and scheduler, until SIGTERM/SIGINT."""
    from mailbot.run import run_forever

    settings = settings_or_exit()
    if problem := secret_problem(settings.server.secret):
        typer.echo(f"refusing to run: {problem}", err=True)
        raise typer.Exit(2)
    os.umask(0o077)  # whatever the bot writes (raw mail, outbox files) is its own
    run_forever(open_app(create=True))


db_cli = typer.Typer(help="The database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    app = open_app(migrate=True, create=True)
    out.print(f"schema up to date on {app.engine.url.render_as_string(hide_password=True)}")


config_cli = typer.Typer(help="The consultation's configuration.", no_args_is_help=True)
cli.add_typer(config_cli, name="config")


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
            out.print(literal(f"{name}: {outcome.outcome} {outcome.ref or ''} {outcome.reason}"))


def _print_rows(
    rows: list[dict[str, Any]], as_json: bool, title: str, terminal: tuple[str, ...] = ()
) -> None:
    print_rows(rows, as_json=as_json, title=title, console=out, terminal=terminal)


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
                "received_at": utc(c.received_at),
                "subject": c.subject,
                "sha256": c.text_sha256,
            }
            for c in session.exec(query)
        ]
    _print_rows(rows, as_json, "Contributions", ("ref", "topic", "status", "subject"))


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
                "sent_at": utc(o.sent_at) if o.sent_at else None,
                "error": o.last_error,
            }
            for o in session.exec(query)
        ]
    _print_rows(rows, as_json, "Outbox")


@outbox_cli.command("retry")
def outbox_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Outbox ids to send again.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed message.")] = False,
) -> None:
    """Send failed mail again (after fixing the relay, its certificate or the address)."""
    from mailbot.delivery import retry_failed

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


def plain_flags(command: Any, ctx: Any = None) -> Any:
    """Flags show as `--json`, not `--json <bool>`: a flag takes no value to describe."""
    helper = command.get_help_option(ctx) if ctx is not None else None
    for param in [*command.params, *([helper] if helper else [])]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        plain_flags(sub, ctx)
    return command


def command() -> Any:
    """The click command behind `mailbot`, with every group and plain flag help."""
    group = typer.main.get_command(cli)
    return plain_flags(group, group.make_context("mailbot", [], resilient_parsing=True))


def main() -> None:
    command()()


# Sub-command groups of other areas (one line each).
import mailbot.calendar.cli  # noqa: E402  (adds `digest preview|send`, `schedule list`)
import mailbot.conversation.cli  # noqa: E402  (adds `messages list|replay`)
import mailbot.hostile.quarantine  # noqa: E402  (adds `quarantine list`, `replay`)
import mailbot.imap.cli  # noqa: E402  (adds `mailbot imap poll|backfill`)
import mailbot.publish.cli  # noqa: E402, F401  (adds `archive build`, `export`, `report synthesis`)
from mailbot.moderation.cli import moderation_cli  # noqa: E402  (`moderation log`)
from mailbot.setup_cli import dkim_cli  # noqa: E402, F401  (adds `init DIR`, `dkim keygen`)
from mailbot.threads.cli import threads_cli  # noqa: E402, F401  (adds `threads list|show|rebuild`)

cli.add_typer(moderation_cli, name="moderation")


if __name__ == "__main__":
    main()
