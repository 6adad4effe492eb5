"""Alembic environment: runs on the engine the app hands over (see mailbot.db.upgrade)."""

from alembic import context
from sqlmodel import SQLModel

# Every area's tables, so autogenerate sees the whole schema (and proposes no drops).
import mailbot.calendar.models
import mailbot.campaigns.models
import mailbot.hostile.models
import mailbot.imap.models
import mailbot.models
import mailbot.moderation.models
import mailbot.threads.models  # noqa: F401

engine = context.config.attributes.get("engine")
if engine is None:  # `alembic` run by hand: build the engine from the bot's settings
    from mailbot.config import load_settings
    from mailbot.db import make_engine

    engine = make_engine(load_settings().server.db_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
