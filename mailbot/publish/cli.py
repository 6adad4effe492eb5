"""`mailbot archive build OUT/`, `mailbot export --format ...`, `mailbot report synthesis`."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from mailbot.cli_common import err, open_app, out

archive_cli = typer.Typer(
    help="The static web archive of published contributions.", no_args_is_help=True
)
report_cli = typer.Typer(help="Reports for the consultation's meetings.", no_args_is_help=True)
# `mailbot export`: a command of the root, merged into it by the road (no group name).
export_cli = typer.Typer()

Format = Literal["mbox", "csv", "json"]


def _check_topic(topic: str | None, known: list[str]) -> None:
    if topic is not None and topic not in known:
        err.print(f"unknown topic {topic!r}; topics: {', '.join(known)}", highlight=False)
        raise typer.Exit(2)


@archive_cli.command("build")
def archive_build(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the site into.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Render every page (after upgrading mailbot).")
    ] = False,
) -> None:
    """Build the archive, or bring it up to date: only changed pages are rewritten."""
    from mailbot.publish.site import build_archive

    app = open_app()
    columns = (TextColumn("archive"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=as_json) as bar:
        task = bar.add_task("pages", total=None)
        result = build_archive(
            app=app,
            out=out_dir,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            full=full,
        )
    counts = {
        "contributions": result.contributions,
        "threads": result.threads,
        "written": result.written,
        "unchanged": result.unchanged,
        "removed": result.removed,
        "out": str(out_dir),
    }
    if as_json:
        sys.stdout.write(json.dumps(counts) + "\n")
    else:
        out.print(
            f"{out_dir}: {result.contributions} contributions in {result.threads} threads;"
            f" {result.written} pages written, {result.unchanged} unchanged,"
            f" {result.removed} removed",
            highlight=False,
        )


@export_cli.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="mbox, csv or json.")] = "json",
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Export the published contributions (never held, rejected or withdrawn ones)."""
    from mailbot.publish.export import export_csv, export_json, export_mbox

    if fmt not in ("mbox", "csv", "json"):
        err.print(f"unknown format {fmt!r}: use mbox, csv or json", highlight=False)
        raise typer.Exit(2)
    app = open_app()
    _check_topic(topic, [t.slug for t in app.consultation.topics])
    with ExitStack() as stack:
        if fmt == "mbox":
            binary = stack.enter_context(output.open("wb")) if output else sys.stdout.buffer
            count = export_mbox(app=app, stream=binary, topic=topic)
            binary.flush()
        else:
            text = (
                stack.enter_context(output.open("w", encoding="utf-8", newline=""))
                if output
                else sys.stdout
            )
            writer = export_csv if fmt == "csv" else export_json
            count = writer(app=app, stream=text, topic=topic)
            text.flush()
    err.print(
        f"{count} contributions exported as {fmt}" + (f" to {output}" if output else ""),
        highlight=False,
    )


@report_cli.command("synthesis")
def report_synthesis(
    fmt: Annotated[str, typer.Option("--format", help="html or md.")] = "md",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """The pack for the open meeting: per topic counts, participants, busiest threads,
    every contribution with its reference and first lines, and the table of hashes."""
    from mailbot.publish.synthesis import render_synthesis

    if fmt not in ("html", "md"):
        err.print(f"unknown format {fmt!r}: use html or md", highlight=False)
        raise typer.Exit(2)
    app = open_app()
    with ExitStack() as stack:
        stream = stack.enter_context(output.open("w", encoding="utf-8")) if output else sys.stdout
        for piece in render_synthesis(app=app, fmt=fmt):  # type: ignore[arg-type]
            stream.write(piece)
        stream.flush()
