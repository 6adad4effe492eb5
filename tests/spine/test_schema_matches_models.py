"""The migrations build exactly the schema the models describe (on SQLite and PostgreSQL):
a column added to a model without a migration, or the other way round, fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import mailbot.migrations.env_models  # noqa: F401  (every area's tables)
from mailbot.db import make_engine, upgrade


def test_migrations_and_models_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == [], "\n".join(map(str, diff))

