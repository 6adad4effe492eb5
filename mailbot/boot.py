"""Start-up: build the App (engine, clock, the road), migrate the schema, sync the topics."""

from __future__ import annotations

from mailbot.app import App
from mailbot.clock import Clock, SystemClock
from mailbot.config import Settings, load_settings
from mailbot.db import make_engine, upgrade
from mailbot.road import Road, default_road
from mailbot.topics import sync_topics


def make_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    road: Road | None = None,
) -> App:
    """Build the context on `road` (the default road unless a test gives a subset); migrate
    the schema and sync the topics unless told not to."""
    settings = settings or load_settings()
    settings.server.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.server.data_dir.chmod(0o700)  # raw mail and the outbox live here
    app = App(
        settings=settings,
        engine=make_engine(settings.server.db_url),
        road=road or default_road(),
        clock=clock or SystemClock(),
    )
    if migrate:
        upgrade(app.engine)
        sync_topics(app=app)
    return app
