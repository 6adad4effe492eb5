"""`mailbot imap poll [--once]` and `mailbot imap backfill`: the IMAP intake by hand.

Failures end with one line on stderr and a non-zero exit (1: the server, 2: the config),
never a traceback: these commands run from cron and systemd timers.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import replace
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from mailbot.cli_common import err, open_app, out
from mailbot.imap.config import ImapAccount, ImapConfigError, imap_accounts, parse_imap_url
from mailbot.imap.mailbox import ImapFailure
from mailbot.imap.poller import Poller

imap_cli = typer.Typer(help="Read the consultation's mailbox over IMAP.", no_args_is_help=True)

UrlOption = Annotated[
    list[str] | None,
    typer.Option("--url", help="imaps:// or imap:// URL (default: MAILBOT_IMAP_URL)."),
]


def _accounts(urls: list[str] | None) -> list[ImapAccount]:
    app = open_app(migrate=False)
    try:
        accounts = imap_accounts(app.settings)
        if urls:
            options = accounts[0].options if accounts else None
            accounts = [parse_imap_url(url, options) for url in urls]
    except ImapConfigError as exc:
        err.print(f"imap: {exc}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    if not accounts:
        err.print("imap: not configured: set MAILBOT_IMAP_URL or pass --url", highlight=False)
        raise typer.Exit(2)
    return accounts


@imap_cli.command()
def poll(
    once: Annotated[bool, typer.Option("--once", help="Catch up once, then exit.")] = False,
    url: UrlOption = None,
) -> None:
    """Take new mail from every configured folder into the pipeline (forever, or --once)."""
    accounts = _accounts(url)
    app = open_app()
    pollers = [Poller(app=app, account=account, process=True) for account in accounts]
    if once:
        for poller in pollers:
            try:
                tally = poller.poll_once()
            except ImapFailure as exc:
                err.print(f"imap: {exc}", highlight=False, markup=False)
                raise typer.Exit(1) from None
            out.print(
                f"{poller.account.label}: {tally.stored} new, {tally.duplicates} already stored",
                highlight=False,
            )
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threads = [
        threading.Thread(target=p.run, args=(stop,), name=f"imap {p.account.label}")
        for p in pollers
    ]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        for thread in threads:
            thread.join(0.5)


@imap_cli.command()
def backfill(
    folder: Annotated[str | None, typer.Option(help="Folder (default: the URL's).")] = None,
    url: UrlOption = None,
) -> None:
    """Import a whole folder (an existing list archive, say) read-only, with a progress bar.

    Nothing on the server changes and the poller's position is left alone; messages already
    stored are recognised and not filed twice.
    """
    account = _accounts(url)[0]
    if folder:
        account = replace(account, folder=folder)
    app = open_app()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"importing {account.label}", total=None)
        poller = Poller(
            app=app,
            account=account,
            process=True,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
        try:
            tally = poller.backfill()
        except ImapFailure as exc:
            err.print(f"imap: {exc}", highlight=False, markup=False)
            raise typer.Exit(1) from None
    out.print(
        f"{account.label}: {tally.stored} new, {tally.duplicates} already stored", highlight=False
    )
