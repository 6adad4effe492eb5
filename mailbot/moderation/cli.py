"""`mailbot moderation log [--json]`: every moderation decision, refusals included."""

from __future__ import annotations

from typing import Annotated

import typer

from mailbot.cli_common import open_app, print_rows
from mailbot.db import session_scope
from mailbot.moderation.log import as_row, decisions

moderation_cli = typer.Typer(help="Moderation: the decision log.", no_args_is_help=True)


@moderation_cli.command("log")
def moderation_log(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    item: Annotated[str | None, typer.Option(help="Only this reference.")] = None,
) -> None:
    """Who decided what, when, why, and with which proof (token, DKIM, or the refusal)."""
    app = open_app()
    with session_scope(app.engine) as session:
        rows = [as_row(d) for d in decisions(session=session, item=item)]
    print_rows(rows, as_json, "Moderation decisions")
