"""Threads filed many to a transaction (a write turn): the contributions' links wait for the
end of the transaction (threads/pending.py), yet a reply to a message of the same turn, a late
parent re-linking replies of the same turn and a merge of threads both filed in it all give
what one `thread()` run over every contribution gives, as filing one at a time does."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import event
from sqlmodel import Session

from mailbot import pipeline, preparer
from mailbot.app import App
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from mailbot.threads.store import rebuild
from tests.threads.test_thread_store import app_for, generate
from tests.threads.thread_mail import (
    batch_grouping,
    contributions,
    mail,
    stored_grouping,
    threads,
)

__all__ = ["app_for"]  # the fixture


def file_in_one_turn(app: App, raws: list[bytes], monkeypatch: pytest.MonkeyPatch) -> int:
    """Store them all, then file them as the pipeline does, every one prepared ahead and the
    turn long enough for all; the number of turns that filed contributions."""
    monkeypatch.setattr(preparer, "AHEAD", len(raws))  # prepared ahead here (no helper)
    monkeypatch.setattr(pipeline, "BATCH", len(raws))
    monkeypatch.setattr(pipeline, "TURN", 600.0)
    store_raw_batch(app=app, items=[RawIn(raw=raw, source="ingest") for raw in raws])
    turns: list[str] = []

    def count(conn, cursor, statement, params, context, many) -> None:  # type: ignore[no-untyped-def]
        if many and statement.startswith("UPDATE raw_message SET outcome"):
            turns.append(statement)  # one executemany at the end of each turn (taken.py)

    event.listen(app.engine, "before_cursor_execute", count)
    assert len(process_pending(app=app)) == len(raws)
    event.remove(app.engine, "before_cursor_execute", count)
    return len(turns)


@pytest.mark.parametrize(
    ("mode", "seed"), [("consultation", 5), ("consultation", 6), ("rfc5256", 7), ("references", 8)]
)
def test_a_turn_threads_as_one_run(app_for, mode: str, seed: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app: App = app_for(mode)
    gens = generate(90, seed)
    random.Random(seed).shuffle(gens)  # replies before their parents, in the same turn
    raws = [
        mail(g.mid, g.subject, refs=g.refs, irt=g.irt, hours=g.hours, sender=g.sender, body=g.body)
        for g in gens
    ]
    assert file_in_one_turn(app, raws, monkeypatch) == 1
    groups, parents = stored_grouping(app)
    assert (groups, parents) == batch_grouping(app)
    assert len(groups) < len(gens) - 20  # real threads formed, not just singletons
    rows = contributions(app)
    stored = threads(app)
    assert len(stored) == len(groups)
    for thread in stored.values():
        assert thread.messages == len([c for c in rows if c.thread_id == thread.id])
    before = {c.id: c.thread_id for c in rows}
    with Session(app.engine) as session:  # a rebuild keeps every thread id
        rebuild(app=app, session=session)
        session.commit()
    assert {c.id: c.thread_id for c in contributions(app)} == before


def links(app: App) -> dict[str | None, tuple[int | None, int | None]]:
    return {c.message_id: (c.thread_id, c.parent_id) for c in contributions(app)}


def test_a_split_then_a_reply_to_the_part_kept_in_one_turn(app_for, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # b joins a's thread by subject under a ghost parent; c, that parent, arrives with
    # another subject and takes b out (a split: b leaves thread 1 while its link waits);
    # d then joins thread 1 by subject: its search must not find b there.
    raws = [
        mail("a@x.example", "Budget", hours=0),
        mail("b@x.example", "Re: Budget", irt="c@x.example", hours=2, sender="b@example.org"),
        mail("c@x.example", "Seats", hours=1, sender="c@example.org"),
        mail("d@x.example", "Re: Budget", hours=3, sender="d@example.org"),
    ]
    app: App = app_for("consultation")
    assert file_in_one_turn(app, raws, monkeypatch) == 1
    # As filed one at a time: b and c in thread 2 (c its root), d under a in thread 1.
    assert links(app) == {
        "a@x.example": (1, None),
        "b@x.example": (2, 3),
        "c@x.example": (2, None),
        "d@x.example": (1, 1),
    }
    assert stored_grouping(app) == batch_grouping(app)
    assert sorted((t.id, t.messages) for t in threads(app).values()) == [(1, 2), (2, 2)]
