"""The filing hot path's Core statements: rows inserted without a flush stay ordinary ORM
rows, a batch's senders are looked up at once, a stored message is filed once."""

from __future__ import annotations

from sqlalchemy import event
from sqlmodel import Session, select

from mailbot.app import App
from mailbot.models import Participant, RawMessage
from mailbot.participants import (
    find_or_create_participant,
    get_participant,
    prefetch_participants,
)
from mailbot.pipeline import file_one, prepare
from mailbot.receive import RawIn, store_raw_batch


def test_inserted_participant_is_a_clean_persistent_row(app: App) -> None:
    now = app.clock.now()
    with Session(app.engine) as session:
        ana = find_or_create_participant(session=session, email="ana@example.org", name="", now=now)
        assert ana.id is not None and ana not in session.dirty and ana in session
        again = find_or_create_participant(
            session=session, email="ana@example.org", name="Ana", now=now
        )
        assert again is ana  # the transaction's cache
        session.commit()  # the name given later is an ordinary UPDATE
    with Session(app.engine) as session:
        row = session.exec(select(Participant).where(Participant.email == "ana@example.org")).one()
        assert row.display_name == "Ana"


def test_prefetch_keeps_hits_and_misses(app: App) -> None:
    now = app.clock.now()
    with Session(app.engine) as session:
        find_or_create_participant(session=session, email="bo@example.org", name="Bo", now=now)
        session.commit()
    with Session(app.engine) as session:
        prefetch_participants(session=session, emails=["bo@example.org", "new@example.org", ""])
        statements: list[str] = []

        def seen(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(app.engine, "before_cursor_execute", seen)
        try:
            found = get_participant(session=session, email="bo@example.org")
            missing = get_participant(session=session, email="new@example.org")
        finally:
            event.remove(app.engine, "before_cursor_execute", seen)
        assert found is not None and found.display_name == "Bo"
        assert missing is None
        assert statements == []  # both answered from the cache


def test_a_message_filed_elsewhere_is_not_filed_again(app: App) -> None:
    raw = (
        b"From: Ana <ana@example.org>\r\nTo: contrib@consult.example.org\r\n"
        b"Subject: Idea\r\nMessage-ID: <once@example.org>\r\n\r\n"
        b"The working group should meet in public.\r\n"
    )
    (stored,) = store_raw_batch(app=app, items=[RawIn(raw=raw, source="t")])
    with Session(app.engine) as session:
        row = session.get(RawMessage, stored.raw_id)
        assert row is not None
    item = prepare(app=app, raw=row)
    with Session(app.engine) as session:
        first = file_one(app=app, session=session, item=item)
        session.commit()
    with Session(app.engine) as session:
        second = file_one(app=app, session=session, item=item)
        session.commit()
    assert first.outcome == "contribution" and first.ref
    assert (second.outcome, second.reason) == ("contribution", first.reason)
    with Session(app.engine) as session:
        done = session.get(RawMessage, stored.raw_id)
        assert done is not None
        assert (done.state, done.outcome, done.reason) == ("done", "contribution", first.reason)
        assert done.processed_at is not None
