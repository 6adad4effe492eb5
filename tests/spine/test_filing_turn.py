"""What a write turn defers to its end stays exact: tracking numbers dense after a rollback,
a message done meanwhile filed once, a new conversation's thread link readable at once."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from mailbot import pipeline
from mailbot.app import App
from mailbot.contributions import next_ref
from mailbot.models import Contribution, RawMessage, RefCounter
from mailbot.pipeline import process_batch
from mailbot.receive import RawIn, store_raw_batch
from mailbot.taken import DoneMeanwhile, Turn
from tests.support import contribution_mail


def test_numbers_are_written_at_commit_and_given_back_by_a_rollback(app: App) -> None:
    cid = app.consultation.id
    with Session(app.engine) as session:
        assert [next_ref(session=session, consultation_id=cid, prefix="T")[0] for _ in "ab"] == [
            1,
            2,
        ]
        session.rollback()
    with Session(app.engine) as session:
        numbers = [next_ref(session=session, consultation_id=cid, prefix="T")[0] for _ in "abc"]
        session.commit()
    assert numbers == [1, 2, 3]  # dense: the rolled back ones are given again
    with Session(app.engine) as session:
        counter = session.get(RefCounter, cid)
        assert counter is not None and counter.last == 3
        assert next_ref(session=session, consultation_id=cid, prefix="T") == (4, "T-0004")


def test_a_message_done_meanwhile_undoes_the_turn_and_each_is_filed_once(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = store_raw_batch(
        app=app, items=[RawIn(raw=contribution_mail(n, tag="turn"), source="t") for n in range(3)]
    )
    ids = [s.raw_id for s in stored]
    with Session(app.engine) as session:
        stale = [session.get(RawMessage, i) for i in ids]  # as a pipeline read them
    with Session(app.engine) as session:
        turn = Turn(session, app.clock.now())
        turn.done(ids[1], "contribution", "filed", wait=True)
        turn.close()  # someone else files the second one meanwhile
        session.commit()
    with Session(app.engine) as session:
        turn = Turn(session, app.clock.now())
        for i in ids:
            turn.done(i, "contribution", "filed", wait=True)
        with pytest.raises(DoneMeanwhile):
            turn.close()
    # A batch read before that: its turn is undone, then each is filed alone, once.
    monkeypatch.setattr(pipeline, "_read_batch", lambda app, raw_ids: (stale, []))
    outcomes = pipeline.process_batch(app=app, raw_ids=ids)
    assert [o.outcome for o in outcomes] == ["contribution"] * 3
    with Session(app.engine) as session:
        filed = session.exec(select(Contribution.raw_id)).all()
    assert sorted(filed) == [ids[0], ids[2]]  # the second was not filed by this pipeline


def test_a_new_conversation_has_its_thread_when_read_back(app: App) -> None:
    stored = store_raw_batch(
        app=app, items=[RawIn(raw=contribution_mail(n, tag="turn"), source="t") for n in range(3)]
    )
    outcomes = process_batch(app=app, raw_ids=[s.raw_id for s in stored])
    assert [o.outcome for o in outcomes] == ["contribution"] * 3
    with Session(app.engine) as session:
        links = session.exec(select(Contribution.thread_id, Contribution.parent_id)).all()
        raws = session.exec(select(RawMessage.state, RawMessage.outcome)).all()
    assert len(links) == 3 and all(t is not None and p is None for t, p in links)
    assert len({t for t, _ in links}) == 3  # three conversations
    assert set(raws) == {("done", "contribution")}
