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


def test_the_migration_environment_sees_every_table() -> None:
    """Alembic imports only env_models: a table missing there would look dropped to
    autogenerate. Every table the running bot knows must be seen from env_models alone."""
    import subprocess
    import sys

    from mailbot.road import default_road

    default_road()  # the whole bot imported
    alone = subprocess.run(
        [
            sys.executable,
            "-c",
            "import mailbot.migrations.env_models; from sqlmodel import SQLModel; "
            "print(' '.join(sorted(SQLModel.metadata.tables)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(SQLModel.metadata.tables) == alone
