"""Queueing a row: a dedupe key queued before, a guard that refuses, one that delays."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.compose import build
from mailbot.models import OutboxMessage
from mailbot.outbox import enqueue


def queue(app: App, s: Session, key: str, *guards: Any) -> OutboxMessage | None:
    now = app.clock.now()
    msg = build(
        settings=app.settings, now=now, to=["ana@example.org"], subject="S", body="x", lang="en"
    )
    return enqueue(
        session=s,
        settings=app.settings,
        guards=guards,
        now=now,
        msg=msg,
        kind="results",
        dedupe_key=key,
    )


def rows(app: App) -> list[OutboxMessage]:
    with Session(app.engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


def test_a_key_is_queued_once_and_the_row_is_returned(app: App) -> None:
    with Session(app.engine) as s:
        row = queue(app, s, "k:1")
        assert row is not None and row.id is not None and row.dedupe_key == "k:1"
        assert row.recipients == ["ana@example.org"] and row.status == "pending"
        assert queue(app, s, "k:1") is None  # in the same transaction
        s.commit()
    with Session(app.engine) as s:
        assert queue(app, s, "k:1") is None  # and in a later one
        s.commit()
    (stored,) = rows(app)
    assert stored.id == row.id and stored.raw == row.raw and stored.message_id == row.message_id


def test_a_refusing_guard_leaves_no_row_and_a_delaying_one_moves_the_first_attempt(
    app: App,
) -> None:
    later = app.clock.now() + timedelta(hours=2)

    def refuse(**_: Any) -> bool:
        return False

    def delay(**_: Any) -> datetime:
        return later

    with Session(app.engine) as s:
        assert queue(app, s, "k:refused", refuse) is None
        row = queue(app, s, "k:delayed", delay)
        assert row is not None and row.next_attempt_at == later
        s.commit()
    (stored,) = rows(app)
    assert stored.dedupe_key == "k:delayed"
    assert stored.next_attempt_at.replace(tzinfo=None) == later.replace(tzinfo=None)
    with Session(app.engine) as s:
        assert queue(app, s, "k:refused") is not None  # refused is not "queued before"
        s.commit()
