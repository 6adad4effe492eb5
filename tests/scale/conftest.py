"""The scale tests: PostgreSQL-only ones (test_pg_*) run in the PostgreSQL pass and are left
out, not skipped, of the SQLite pass; the SQLite pass checks instead that a second pipeline
is refused (test_sqlite_*)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import BACKEND

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    other = "test_sqlite_" if BACKEND == "postgresql" else "test_pg_"
    left_out = [
        item
        for item in items
        if Path(item.path).resolve().parent == HERE and item.path.name.startswith(other)
    ]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
