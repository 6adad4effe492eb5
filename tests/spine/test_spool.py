"""The listener's spool on SQLite (mailbot/spool.py): the 250 waits for the disk, not for the
pipeline's write turn, and nothing a stop leaves in the spool is lost or stored twice."""

from __future__ import annotations

import os
import smtplib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from mailbot.app import App
from mailbot.boot import make_app
from mailbot.clock import FrozenClock
from mailbot.db import write_turn
from mailbot.groupcommit import GroupCommitter
from mailbot.models import RawMessage
from mailbot.receive import RawIn, store_raw_batch
from mailbot.scale.status import status
from mailbot.spool import Spool
from tests.support import BotThread, make_settings, wait_for


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """The spool is SQLite's: these tests use a SQLite file in both passes of the suite."""
    settings = make_settings(f"sqlite:///{tmp_path / 'spool.sqlite3'}", tmp_path / "var")
    application = make_app(settings, clock=FrozenClock())
    yield application
    application.engine.dispose()


def mail(n: int) -> bytes:
    return (
        f"From: P {n} <p{n}@example.org>\r\nTo: contrib@consult.example.org\r\n"
        f"Subject: Idea {n}\r\nMessage-ID: <spool-{n}@example.org>\r\n\r\nIdea {n}.\r\n"
    ).encode()


def stored(app: App) -> int:
    with Session(app.engine) as session:
        return int(session.exec(select(func.count()).select_from(RawMessage)).one())


def test_the_250_does_not_wait_for_the_write_turn(
    app: App, bot_factory: Callable[[App], BotThread]
) -> None:
    bot = bot_factory(app)
    holding, release = threading.Event(), threading.Event()

    def long_filing() -> None:  # what a pipeline filing a big batch does to the database
        with write_turn(app.engine):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=long_filing)
    holder.start()
    try:
        assert holding.wait(10)
        with smtplib.SMTP("127.0.0.1", bot.port, timeout=30) as client:
            client.ehlo()
            client.mail("p1@example.org")
            client.rcpt("contrib@consult.example.org")
            code, answer = client.data(mail(1))
        assert code == 250 and b"spooled" in answer
        # Answered while the turn is still held: the message is on disk in the spool ...
        assert holder.is_alive() and not release.is_set()
        assert any(p.stat().st_size for p in (app.settings.server.data_dir / "spool").iterdir())
        assert stored(app) == 0  # ... and not in the database yet
    finally:
        release.set()
        holder.join()
    assert wait_for(lambda: stored(app) == 1, timeout=10)
    with Session(app.engine) as session:
        row = session.exec(select(RawMessage)).one()
    assert row.raw == mail(1) and row.envelope_from == "p1@example.org"


def test_what_a_stop_left_in_the_spool_is_stored_once(app: App) -> None:
    spool = Spool(app.settings.server.data_dir / "spool")
    first = [{"raw": mail(n), "source": "smtp", "received_at": None} for n in (1, 2)]
    segment = spool.append(first)
    spool.append([{"raw": mail(3), "source": "smtp", "received_at": None}])
    # The first group reached the database before the stop; the second did not.
    store_raw_batch(app=app, items=[RawIn(raw=mail(n), source="smtp") for n in (1, 2)])
    os.close(segment.fd)  # the process is gone: its lock on the segment with it
    committer = GroupCommitter(app=app)
    assert committer.recover() == 3  # both groups read back ...
    assert stored(app) == 3  # ... the first one not stored twice
    assert committer.recover() == 0  # and the spool is empty now
    assert not list((app.settings.server.data_dir / "spool").iterdir())


def test_a_group_cut_short_is_not_stored(app: App) -> None:
    spool = Spool(app.settings.server.data_dir / "spool")
    segment = spool.append([{"raw": mail(1), "source": "smtp", "received_at": None}])
    os.write(segment.fd, b"\x00\x00\x10\x00" + b"half a record")  # a crash mid-write
    os.close(segment.fd)
    assert GroupCommitter(app=app).recover() == 1
    assert stored(app) == 1


def test_a_live_listener_keeps_its_spool(app: App) -> None:
    """Another process's `recover` (a second `mailbot run` refused later, a CLI) leaves
    the segments of a running listener alone: it stores and releases them itself."""
    spool = Spool(app.settings.server.data_dir / "spool")
    segment = spool.append([{"raw": mail(1), "source": "smtp", "received_at": None}])
    other = Spool(app.settings.server.data_dir / "spool")
    assert other.recover() == []
    assert status(app=app)["spooled_bytes"] == segment.size > 0  # `mailbot status` says so
    spool.release(segment)
    assert segment.path.stat().st_size == 0  # emptied, kept for the next group
    assert status(app=app)["spooled_bytes"] == 0
