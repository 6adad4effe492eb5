"""What threading asks the database for: a message that starts a conversation costs one
SELECT, a reply loads its thread (members and row) by index, and rows of another
consultation that share a Message-ID or a subject are never part of the component."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, event, update
from sqlmodel import Session, select

from mailbot.app import App
from mailbot.clock import utc
from mailbot.models import Contribution
from mailbot.threads.models import Thread
from mailbot.threads.store import component
from tests.threads.thread_mail import by_mid, deliver, mail


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(app.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", count)


def fresh(session: Session, mid: str) -> Contribution:
    """A stored contribution as the threading step sees it: filed, not threaded yet (its
    thread, when it started one, not written either; not committed)."""
    c = session.exec(select(Contribution).where(Contribution.message_id == mid)).one()
    if c.thread_id is not None and c.parent_id is None:
        session.execute(delete(Thread).where(Thread.root_contribution_id == c.id))  # type: ignore[arg-type]
    session.execute(
        update(Contribution).where(Contribution.id == c.id).values(thread_id=None, parent_id=None)  # type: ignore[arg-type]
    )
    session.refresh(c)
    return c


def test_a_new_conversation_costs_one_select(app: App) -> None:
    deliver(app, *(mail(f"u{i}@x.example", f"Unrelated {i}", hours=i) for i in range(5)))
    deliver(app, mail("new@x.example", "A fresh subject", hours=6))
    with Session(app.engine) as session:
        new = fresh(session, "new@x.example")
        with statements(app) as seen:
            rows = component(session=session, start=new, config=app.settings.threads)
        assert set(rows) == {new.id}
        assert len(seen) == 1 and seen[0].startswith("SELECT")


def test_a_reply_loads_its_thread(app: App) -> None:
    deliver(
        app,
        mail("a@x.example", "Minutes", hours=0),
        mail("b@x.example", "Re: Minutes", refs=("a@x.example",), hours=1),
        mail("z@x.example", "Other", hours=1),
        mail("c@x.example", "Re: Minutes", refs=("a@x.example", "b@x.example"), hours=2),
    )
    with Session(app.engine) as session:
        c = fresh(session, "c@x.example")
        rows = component(session=session, start=c, config=app.settings.threads)
        assert {r.message_id for r in rows.values()} == {"a@x.example", "b@x.example", c.message_id}


def test_another_consultation_is_not_searched(app: App) -> None:
    deliver(
        app,
        mail("a@x.example", "Minutes", hours=0),
        mail("b@x.example", "Re: Minutes", refs=("a@x.example",), hours=1),
        mail("c@x.example", "Re: Minutes", refs=("a@x.example",), hours=2),
    )
    rows = by_mid(app)
    with Session(app.engine) as session:
        # a and b move to another consultation (with their thread): c names a, and has a's
        # subject, but finds neither.
        moved = [rows["a@x.example"].id, rows["b@x.example"].id]
        session.execute(
            update(Contribution)
            .where(Contribution.id.in_(moved))  # type: ignore[union-attr]
            .values(consultation_id="elsewhere")
        )
        session.execute(update(Thread).values(consultation_id="elsewhere"))
        session.commit()
        c = fresh(session, "c@x.example")
        found = component(session=session, start=c, config=app.settings.threads)
        assert {r.message_id for r in found.values()} == {"c@x.example"}


def test_a_message_joining_by_subject_costs_three_selects(app: App) -> None:
    # Round 1: (a)+(c) finds the thread, (b) loads it; round 2 asks the found message's
    # Message-ID with (c) for the widened dates in ONE statement, which finds nothing new.
    deliver(
        app,
        mail("a@x.example", "Minutes", hours=0),
        mail("z@x.example", "Other", hours=1),
        mail("b@x.example", "Minutes", hours=2),
    )
    with Session(app.engine) as session:
        b = fresh(session, "b@x.example")
        with statements(app) as seen:
            rows = component(session=session, start=b, config=app.settings.threads)
        assert {r.message_id for r in rows.values()} == {"a@x.example", "b@x.example"}
        assert len(seen) == 3 and all(s.startswith("SELECT") for s in seen)


def test_a_reply_reads_its_thread_row_with_its_members(app: App) -> None:
    # The search loads the thread's row with its members; writing the result (the row's
    # new counts and dates) reads it no more.
    deliver(app, mail("a@x.example", "Minutes", hours=0), mail("z@x.example", "Other", hours=1))
    with statements(app) as seen:
        deliver(app, mail("b@x.example", "Re: Minutes", refs=("a@x.example",), hours=2))
    assert not [s for s in seen if " ".join(s.split()).startswith("SELECT thread.")]
    with Session(app.engine) as session:
        minutes = session.exec(select(Thread).where(Thread.title == "Minutes")).one()
        assert minutes.messages == 2
        assert utc(minutes.last_date) == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
        ordered = select(Contribution.thread_id).order_by(Contribution.id)  # type: ignore[arg-type]
        assert session.exec(ordered).all() == [minutes.id, minutes.id + 1, minutes.id]
