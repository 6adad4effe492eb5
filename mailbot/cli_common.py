"""What every `mailbot` command shares: the consoles, logging, opening the app, printing rows.

The area CLIs import from here, never from `mailbot.cli` (the root that assembles them from the
road), so there is no import cycle. The root's callback hands over the app factory (the
default road's `make_app`) with `use_factory` before any command runs; `open_app` uses it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from mailbot.app import App
from mailbot.config import ConfigError, Settings, load_settings

err = Console(stderr=True)
out = Console()

AppFactory = Callable[..., App]  # factory(settings, *, migrate) -> App
_FACTORY: list[AppFactory] = []  # set by the root command's callback, once per invocation


def use_factory(factory: AppFactory) -> None:
    _FACTORY[:] = [factory]


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    if not verbose:  # migrations say "Context impl SQLiteImpl" on every start otherwise
        logging.getLogger("alembic").setLevel(logging.WARNING)


def load_or_exit() -> Settings:
    """Load and validate the config once; on errors print them and exit 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        for line in exc.errors:
            typer.echo(f"config error: {line}", err=True)
        raise typer.Exit(2) from None


def open_app(migrate: bool = True) -> App:
    """The app of this command, built by the factory the root command handed over."""
    settings = load_or_exit()
    if not _FACTORY:
        raise RuntimeError("open_app called outside the `mailbot` command")
    return _FACTORY[0](settings, migrate=migrate)


def print_rows(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
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
