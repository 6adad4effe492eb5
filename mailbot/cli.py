"""The `mailbot` command line: run the bot, ingest mail; the command groups come from the road.

The groups (the spine's `db|config|contributions|outbox` and every area's) are listed in
`Road.cli_groups` and added at the bottom, in that order.
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
from rich.progress import Progress

from mailbot.act import Outcome
from mailbot.boot import make_app
from mailbot.cli_common import CONFIG, err, open_app, out, settings_or_exit, use_factory
from mailbot.config import secret_problem
from mailbot.logs import setup_logging
from mailbot.pipeline import process_one
from mailbot.receive import RawIn, store_raw_batch
from mailbot.road import default_road
from mailbot.runtime import ROLES
from mailbot.scale.single import SecondPipeline
from mailbot.tables import literal

MBOXRD_QUOTED = re.compile(rb"^>(>*From )", re.M)

cli: typer.Typer = typer.Typer(
    help="mailbot: a public consultation run over plain e-mail.", no_args_is_help=True
)


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
    use_factory(make_app)  # what `open_app` builds the app with: the default road


@cli.command()
def run(
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role",
            metavar="ROLE",
            help=f"Run only this part ({'|'.join(ROLES)}); repeatable. Default: all of them.",
        ),
    ] = None,
) -> None:
    """Run the bot: SMTP/LMTP listener, pipeline, sender and scheduler, until SIGTERM/SIGINT."""
    from mailbot.run import run_forever

    roles = frozenset(role or ROLES)
    if unknown := sorted(roles - set(ROLES)):
        typer.echo(f"unknown role(s): {', '.join(unknown)} (known: {', '.join(ROLES)})", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit()
    if problem := secret_problem(settings.server.secret):
        typer.echo(f"refusing to run: {problem}", err=True)
        raise typer.Exit(2)
    os.umask(0o077)  # whatever the bot writes (raw mail, outbox files) is its own
    try:
        run_forever(open_app(create=True), roles=roles)
    except SecondPipeline as exc:
        typer.echo(f"refusing to run: {exc}", err=True)
        raise typer.Exit(2) from None


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


# Command groups, in the road's order (a group without a name adds its commands to the root).
for _name, _group in default_road().cli_groups:
    cli.add_typer(_group, name=_name)


if __name__ == "__main__":
    main()
