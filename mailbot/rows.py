"""One row inserted with a Core statement, its ORM object then persistent in the session.

The hot path (filing) creates a participant and a contribution per message; a unit-of-work
flush for one object costs several times the INSERT itself. The object is built as usual
(its defaults filled in), written with one INSERT, and joins the session as the row it now
is: later changes to it are ordinary UPDATEs at the next flush.
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from sqlalchemy import Insert, Table, insert
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel

Row = TypeVar("Row", bound=SQLModel)


@cache
def _insert(table: Table) -> Insert:
    return insert(table)


def insert_row(session: Session, row: Row) -> Row:
    """INSERT `row` (a new object with an integer primary key `id`) and return it, persistent."""
    table = row.__table__  # type: ignore[attr-defined]
    columns = [c.name for c in table.columns if c.name != "id"]
    # The parameters apart from the statement: one statement per table, compiled once.
    result = session.connection().execute(_insert(table), {c: getattr(row, c) for c in columns})
    key = result.inserted_primary_key
    assert key is not None
    row.id = key[0]
    make_transient_to_detached(row)
    session.add(row)
    return row
