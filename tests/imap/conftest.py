"""Fixtures of the IMAP tests: apps reading the real Dovecot of tests/dovecot.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailbot.app import App
from mailbot.boot import make_app
from mailbot.clock import FrozenClock
from mailbot.config import PROJECT_DIR, Settings, load_settings
from tests.dovecot import Dovecot
from tests.imap.helpers import MakeApp


def imap_settings(database_url: str, data_dir: Path, url: str, **imap: Any) -> Settings:
    overrides: dict[str, Any] = {
        "server": {"database_url": database_url, "data_dir": str(data_dir),
                   "listen": "127.0.0.1:0", "imap_url": url},
        "imap": imap,
    }  # fmt: skip
    return load_settings(PROJECT_DIR / "config" / "mailbot.toml", environ={}, overrides=overrides)


@pytest.fixture
def imap_app(
    database_url: str, tmp_path: Path, dovecot: Dovecot, clock: FrozenClock
) -> Iterator[MakeApp]:
    """make(url=None, **imap) -> an App reading the test Dovecot (plain IMAP + STARTTLS)."""
    apps: list[App] = []

    def make(url: str | None = None, **imap: Any) -> App:
        imap = {"cafile": str(dovecot.cafile), "backoff_initial": 0.2, **imap}
        settings = imap_settings(database_url, tmp_path / "var", url or dovecot.url(), **imap)
        apps.append(make_app(settings, clock=clock))
        return apps[-1]

    yield make
    for app in apps:
        app.engine.dispose()
