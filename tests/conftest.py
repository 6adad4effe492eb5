"""Fixtures: a fresh database per test (SQLite, or PostgreSQL when
MAILBOT_TEST_DATABASE=postgresql), the app on a frozen clock, a capture relay, a bot runner."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mailbot.app import App
from mailbot.boot import make_app
from mailbot.clock import FrozenClock
from mailbot.config import Settings
from tests.support import BACKEND, PG_URL, BotThread, CaptureRelay, make_settings

pytest_plugins = ["tests.dovecot"]  # the `dovecot` fixture: a real IMAP server


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database nobody else uses: a SQLite file, or a fresh PostgreSQL schema."""
    if BACKEND == "sqlite":
        # The file exists, like a database made by `mailbot db upgrade`: CLI commands other
        # than run/db upgrade open (and migrate) an existing database but never create one.
        (tmp_path / "mailbot.sqlite3").touch(mode=0o600)
        yield f"sqlite:///{tmp_path / 'mailbot.sqlite3'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "var")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Iterator[App]:
    application = make_app(settings, clock=clock)
    yield application
    application.engine.dispose()


@pytest.fixture
def relay() -> Iterator[CaptureRelay]:
    server = CaptureRelay()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bot_factory() -> Iterator[Callable[[App], BotThread]]:
    """Start `mailbot.run.serve` for an app in a thread; every bot is stopped after the test."""
    bots: list[BotThread] = []

    def start(app: App) -> BotThread:
        bot = BotThread(app).start()
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        bot.stop()
