"""What every `mailbot` command shares: the consoles, the config, opening the app, printing rows.

The area CLIs import from here, never from `mailbot.cli` (the root that assembles them from the
road), so there is no import cycle. The root's callback hands over the app factory (the
default road's `make_app`) with `use_factory` before any command runs; `open_app` uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from mailbot.app import App
from mailbot.config import ConfigError, Settings, load_settings
from mailbot.db import sqlite_file
from mailbot.logs import setup_logging
from mailbot.tables import print_rows as _print_table

__all__ = ["err", "open_app", "out", "print_rows", "settings_or_exit", "setup_logging"]

# Text from mail (subjects, names) goes through these: never read as Rich markup.
err = Console(stderr=True, markup=False, highlight=False)
out = Console(markup=False, highlight=False)
# --config of this invocation (None: $MAILBOT_CONFIG, then the usual places).
CONFIG: dict[str, Path | None] = {"path": None}

AppFactory = Callable[..., App]  # factory(settings, *, migrate) -> App
_FACTORY: list[AppFactory] = []  # set by the root command's callback, once per invocation


def use_factory(factory: AppFactory) -> None:
    _FACTORY[:] = [factory]


def settings_or_exit(code: int = 2) -> Settings:
    """Load and validate the config; on errors print each (with its file line or variable)."""
    try:
        return load_settings(CONFIG["path"])
    except ConfigError as exc:
        for line in exc.errors:
            typer.echo(f"config error: {line}", err=True)
        raise typer.Exit(code) from None


def open_app(migrate: bool = True, create: bool = False) -> App:
    """The app of this command, built by the factory the root command handed over. Only `run`
    and `db upgrade` create a database: any other command on a missing database says where
    it looked instead of starting empty."""
    settings = settings_or_exit()
    path = sqlite_file(settings.server.db_url)
    if not create and path is not None and not path.exists():
        typer.echo(
            f"no database at {path} (config {settings.source}); "
            "create it with `mailbot db upgrade` or point MAILBOT_CONFIG at the right config",
            err=True,
        )
        raise typer.Exit(2)
    if not _FACTORY:
        raise RuntimeError("open_app called outside the `mailbot` command")
    return _FACTORY[0](settings, migrate=migrate)


def print_rows(
    rows: list[dict[str, Any]], as_json: bool, title: str, terminal: tuple[str, ...] = ()
) -> None:
    """JSON lines, TSV off a terminal, or a table keeping `terminal` columns whole."""
    _print_table(rows, as_json=as_json, title=title, console=out, terminal=terminal)
