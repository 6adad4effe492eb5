"""The running bot's context: settings, database engine and clock, built once and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from mailbot.clock import Clock, SystemClock
from mailbot.config import Settings, load_settings
from mailbot.db import make_engine, upgrade


@dataclass(frozen=True)
class App:
    settings: Settings
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)

    @property
    def consultation(self):  # type: ignore[no-untyped-def]  # Consultation; keeps call sites short
        return self.settings.consultation


def make_app(
    settings: Settings | None = None, *, clock: Clock | None = None, migrate: bool = True
) -> App:
    """Build the context; migrate the schema and sync the topics unless told not to."""
    settings = settings or load_settings()
    settings.server.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.server.data_dir.chmod(0o700)  # raw mail and the outbox live here
    engine = make_engine(settings.server.db_url)
    app = App(settings=settings, engine=engine, clock=clock or SystemClock())
    if migrate:
        upgrade(engine)
        from mailbot.topics import sync_topics

        sync_topics(app=app)
    return app
