"""How the CLI prints rows: JSON lines (--json), plain TSV when stdout is not a terminal, a table
on a terminal. Text from mail is never read as markup, and control and bidi characters are
shown as escapes, so a subject prints as it was written and cannot restyle the terminal."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mailbot.clock import utc

# C0/C1 controls (ESC starts ANSI sequences) and the bidi marks/overrides that reorder a line.
UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Columns a reader matches on: never cut (the subject folds instead).
WHOLE = ("id", "ref", "topic", "status", "kind")
FOLD = ("subject", "title", "to", "error", "reason")


def literal(value: object) -> str:
    """`value` as text a terminal shows as it is: unsafe characters become \\xNN / \\uNNNN."""
    text = value if isinstance(value, str) else cell(value)

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return UNSAFE.sub(escape, text)


def cell(value: object) -> str:
    """One value as text; a time always carries its offset (the store keeps UTC)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return utc(value).isoformat()
    return str(value)


def json_value(value: object) -> object:
    return utc(value).isoformat() if isinstance(value, datetime) else value


def print_rows(
    rows: list[dict[str, Any]],
    *,
    as_json: bool,
    title: str,
    console: Console | None = None,
    terminal: tuple[str, ...] = (),
) -> None:
    """`terminal`: the columns a terminal table shows (default all); JSON and TSV keep all."""
    console = console or Console(markup=False, highlight=False)
    stream = console.file
    if as_json:
        for row in rows:
            item = {k: json_value(v) for k, v in row.items()}
            stream.write(json.dumps(item, default=str, ensure_ascii=False) + "\n")
        return
    if not console.is_terminal:  # a pipe or a file: one TSV line per row, header first
        if rows:
            stream.write("\t".join(rows[0]) + "\n")
        for row in rows:
            stream.write("\t".join(literal(cell(v)) for v in row.values()) + "\n")
        return
    if terminal:
        rows = [{k: row[k] for k in terminal} for row in rows]
    console.print(rich_table(rows, title=title))


def rich_table(rows: list[dict[str, Any]], *, title: str) -> Table:
    table = Table(title=title)
    columns = list(rows[0]) if rows else ["(none)"]
    for name in columns:
        widest = max((len(cell(r.get(name))) for r in rows), default=0)
        if name in WHOLE:
            table.add_column(name, no_wrap=True, min_width=max(widest, len(name)))
        elif name in FOLD:
            table.add_column(name, overflow="fold", ratio=1, min_width=8)
        else:
            table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(Text(literal(cell(v))) for v in row.values()))
    return table
