"""`mailbot campaigns list|show|rebuild`: the campaigns the filing step found."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from mailbot.campaigns.index import rebuild
from mailbot.campaigns.view import describe, list_campaigns
from mailbot.cli_common import err, open_app, out, print_rows
from mailbot.db import session_scope, write_scope

campaigns_cli = typer.Typer(
    help="Campaigns: the same letter sent many times.", no_args_is_help=True
)
ALL = ("published", "held", "deferred")  # --all: also what is not published yet


@campaigns_cli.command("list")
def campaigns_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    every: Annotated[bool, typer.Option("--all", help="Count held and deferred copies.")] = False,
) -> None:
    """Campaigns, biggest first: its reference (its first copy's), topic, copies, languages."""
    app = open_app()
    config = app.settings.campaigns
    with session_scope(app.engine) as session:
        found = list_campaigns(
            session=session,
            min_copies=config.min_copies,
            statuses=ALL if every else ("published",),
        )
    rows = [
        {
            "campaign": c.ref,
            "topic": c.topic,
            "count": c.count,
            "languages": ",".join(f"{k}:{v}" for k, v in c.languages.items()),
        }
        for c in found
    ]
    print_rows(rows, as_json=as_json, title="Campaigns")


@campaigns_cli.command("show")
def campaigns_show(
    ref: Annotated[str, typer.Argument(help="The campaign's reference or any copy's.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    every: Annotated[bool, typer.Option("--all", help="Count held and deferred copies.")] = False,
) -> None:
    """The shared text, the count, every reference, and the copies that added words."""
    app = open_app()
    config = app.settings.campaigns
    with session_scope(app.engine) as session:
        found = describe(
            session=session,
            ref=ref,
            min_copies=config.min_copies,
            added_words=config.added_words,
            statuses=ALL if every else ("published",),
        )
    if found is None:
        err.print(f"{ref} is in no campaign")
        raise typer.Exit(1)
    if as_json:
        item = asdict(found) | {"added": [{"ref": r, "words": w} for r, w in found.added]}
        print_rows([item], as_json=True, title="Campaign")
        return
    out.print(f"Campaign {found.ref} ({found.topic}): {found.count} copies")
    out.print(found.shared_text)
    out.print("References: " + " ".join(found.refs))
    for r, added in found.added:
        out.print(f"{r} added: {added}")


@campaigns_cli.command("rebuild")
def campaigns_rebuild() -> None:
    """Re-index every contribution (after changing [campaigns] threshold or num_perm)."""
    app = open_app()
    with write_scope(app.engine) as session:
        placed = rebuild(app=app, session=session)
    out.print(f"{placed} contributions indexed")
