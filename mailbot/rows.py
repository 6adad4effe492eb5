"""One row inserted with a Core statement, its ORM object then persistent in the session.

The hot path (filing) creates a participant and a contribution per message. Neither a
unit-of-work flush nor the model's constructor is needed for that: SQLModel's `__init__` sets
every field through SQLAlchemy's instrumented `__setattr__` (about 20 a row, several times
the INSERT itself). `insert_new` writes the values with one INSERT and builds the object the
way the ORM builds a row it loads (`ClassManager.new_instance`, values into its `__dict__`),
then lets it join the session as the row it now is: later changes to it are ordinary UPDATEs
at the next flush, and it reads and compares like any loaded row.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Insert, Table, insert
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel

Row = TypeVar("Row", bound=SQLModel)


@cache
def _insert(table: Table) -> Insert:
    return insert(table)


@cache
def _defaults(model: type[SQLModel]) -> tuple[dict[str, Any], dict[str, Callable[[], Any]]]:
    """The model's plain defaults and its default factories (a fresh list per row), by field."""
    plain: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for name, info in model.model_fields.items():
        if info.default_factory is not None:
            factories[name] = info.default_factory  # type: ignore[assignment]
        elif not info.is_required():
            plain[name] = info.default
    return plain, factories


def insert_new(session: Session, model: type[Row], values: dict[str, Any]) -> Row:
    """INSERT a new `model` row (integer primary key `id`, given by the database) with
    `values` and the model's defaults; return it, persistent in the session."""
    plain, factories = _defaults(model)
    row = plain | {name: make() for name, make in factories.items() if name not in values}
    row |= values
    row.pop("id", None)
    result = session.connection().execute(_insert(model.__table__), row)  # type: ignore[attr-defined]
    key = result.inserted_primary_key
    assert key is not None
    row["id"] = key[0]
    # As the ORM builds a row it loads: no constructor, no validation, no per-field events.
    obj: Row = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    obj.__dict__.update(row)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
