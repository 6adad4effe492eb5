"""Item 6: one message never stalls everyone. HTML is sanitised within a bound on size and
depth, before the write transaction; the sender never strands claimed rows and never sends a
row twice when the database is locked while it records what it sent."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlmodel import Session, select

from mailbot.app import App
from mailbot.clock import FrozenClock
from mailbot.models import Contribution, OutboxMessage
from mailbot.sender import drain
from tests.commands.commands_support import CONTRIB, contribute, mail, moderated_app
from tests.security.security_support import received, send, start_bot
from tests.support import BACKEND, CaptureRelay, wait_for


def nested_html(divs: int = 200_000) -> bytes:
    html = "<div>" * divs + "Nested text." + "</div>" * divs
    return (
        "From: Eve <eve@evil.example>\r\nTo: contrib@consult.example.org\r\n"
        "Subject: deep\r\nMessage-ID: <deep@evil.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n"
    ).encode()


def test_item6_nested_html_is_bounded_and_others_are_filed(
    tmp_path: Path, database_url: str, relay: CaptureRelay, bot_factory: Any, clock: FrozenClock
) -> None:
    app, bot = start_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
        policy="post",
    )
    assert send(bot.port, nested_html(), CONTRIB).startswith("250")
    assert send(bot.port, mail(sender="ann@example.org", body="Plain idea."), CONTRIB)[:3] == "250"
    assert wait_for(lambda: received(relay, "ann@example.org"), timeout=60), "Ann waited"
    assert wait_for(lambda: received(relay, "eve@evil.example"), timeout=60)
    with Session(app.engine) as s:
        deep = s.exec(
            select(Contribution).where(Contribution.message_id == "deep@evil.example")
        ).one()
    assert deep.html is None and "Nested text." in deep.text  # shown by its text


def slow_down_locks(app: App) -> None:
    """Make the app give up on a lock after 100 ms (instead of 30 s), so the test is short."""

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        if BACKEND == "sqlite":
            cur.execute("PRAGMA busy_timeout=100")
        else:
            cur.execute("SET lock_timeout = '100ms'")
        cur.close()

    event.listen(app.engine, "connect", on_connect)
    app.engine.dispose()


def test_item6_sender_lock_error_neither_strands_nor_sends_twice(
    tmp_path: Path, database_url: str, relay: CaptureRelay, clock: FrozenClock
) -> None:
    app = moderated_app(database_url, tmp_path, clock, server={"relay": relay.url}, policy="post")
    contribute(app, "ann@example.org")
    contribute(app, "bob@example.org")
    slow_down_locks(app)
    holding = threading.Event()

    def hold_the_lock() -> None:  # another writer holds the outbox for 1.5 s
        from sqlalchemy import create_engine

        other = create_engine(app.engine.url)
        with other.connect() as conn:
            if BACKEND == "sqlite":
                conn.exec_driver_sql("BEGIN EXCLUSIVE")
            else:
                conn.execute(text("LOCK TABLE outbox_message IN ACCESS EXCLUSIVE MODE"))
            holding.set()
            time.sleep(1.5)
            conn.rollback()
        other.dispose()

    # The relay takes the first message, and while it does, someone locks the database.
    class LockOnFirst(list):  # type: ignore[type-arg]
        def append(self, item: Any) -> None:
            super().append(item)
            if len(self) == 1:
                threading.Thread(target=hold_the_lock, daemon=True).start()
                holding.wait(5)

    relay.messages = LockOnFirst()
    counts = drain(app=app)
    assert counts["sent"] == 2
    with Session(app.engine) as s:
        assert {r.status for r in s.exec(select(OutboxMessage))} == {"sent"}
    assert drain(app=app)["sent"] == 0
    assert len(relay.messages) == 2  # each receipt handed to the relay once
