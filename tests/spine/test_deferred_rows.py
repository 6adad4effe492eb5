"""Rows written once per transaction (mailbot/deferred.py): the answers log waits for the
commit, yet every reader of the same transaction sees it, and a rollback (a batch that fails,
filed again one at a time) leaves no row behind and none written twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import Session
from sqlmodel import select as orm_select

from mailbot.app import App
from mailbot.campaigns.models import CampaignMember
from mailbot.contributions import Filing
from mailbot.hostile.answered import SENT, log_answer, logged, sent_to
from mailbot.hostile.models import ReplyLog
from mailbot.models import OutboxMessage
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from tests.campaigns.test_campaign_commands import LETTER_A
from tests.commands.commands_support import COMMANDS, mail

LOG = ReplyLog.__table__  # type: ignore[attr-defined]


def answered(app: App, session: Session, recipient: str, n: int) -> None:
    now = app.clock.now()
    for i in range(n):
        log_answer(
            session, now=now, recipient=recipient, kind="ack", dedupe_key=f"k{i}", decision="queued"
        )


def on_disk(session: Session) -> int:
    """reply_log rows the database has now (a Core read on the connection: no hook runs)."""
    return int(session.connection().execute(select(func.count()).select_from(LOG)).scalar_one())


def test_the_log_waits_for_the_commit(app: App) -> None:
    with Session(app.engine) as session:
        answered(app, session, "ana@example.org", 3)
        assert on_disk(session) == 0  # one executemany later, not three INSERTs now
        session.commit()
    with Session(app.engine) as session:
        assert on_disk(session) == 3


def test_a_session_query_sees_the_waiting_rows(app: App) -> None:
    with Session(app.engine) as session:
        answered(app, session, "ana@example.org", 2)
        assert len(session.exec(orm_select(ReplyLog)).all()) == 2


def test_the_limits_count_the_transactions_own_answers(app: App) -> None:
    since = app.clock.now() - timedelta(hours=1)
    with Session(app.engine) as session:
        # Nobody was read before: the counts come from the database, written first.
        answered(app, session, "carol@example.org", 3)
        assert sent_to(session, recipient="carol@example.org", since=since) == 3
        answered(app, session, "dan@example.org", 2)
        assert logged(session, since=since, decisions=SENT) == 5
        assert logged(session, since=since, decisions=SENT, recipient="dan@example.org") == 2


def test_a_rollback_drops_the_waiting_rows(app: App) -> None:
    with Session(app.engine) as session:
        answered(app, session, "ana@example.org", 2)
        session.rollback()
        answered(app, session, "bob@example.org", 1)
        session.commit()
        assert [r.recipient for r in session.exec(orm_select(ReplyLog))] == ["bob@example.org"]


def breaks_on(subject: str):  # type: ignore[no-untyped-def]
    def step(*, app: App, session: Session, filing: Filing) -> None:
        if filing.contribution.subject == subject:
            raise ValueError("this one breaks")

    return step


def test_a_failed_batch_filed_one_at_a_time_writes_each_row_once(app: App) -> None:
    step = ("breaks", breaks_on("Broken"))
    app = replace(app, road=replace(app.road, filing_steps=(*app.road.filing_steps, step)))
    items = [
        RawIn(raw=mail(sender=f"p{n}@turn.example.org", subject=s, body=LETTER_A), source="test")
        for n, s in enumerate(["Idea", "Idea", "Broken", "Idea"])
    ]
    store_raw_batch(app=app, items=items)
    outcomes = [o.outcome for o in process_pending(app=app)]
    assert outcomes.count("quarantine") == 1 and len(outcomes) == 4
    with Session(app.engine) as session:
        log = session.exec(orm_select(ReplyLog.recipient)).all()
        members = session.exec(orm_select(CampaignMember.campaign_id)).all()
    assert sorted(log) == ["p0@turn.example.org", "p1@turn.example.org", "p3@turn.example.org"]
    # The three copies, placed once each, in one cluster (the first's).
    assert len(members) == 3 and len(set(members)) == 1


def test_a_status_in_the_turn_of_its_contribution(app: App) -> None:
    # One turn: Ana contributes, then asks for its STATUS. The command reads the contribution
    # (a session query: the waiting rows are written first) and is answered; both answers
    # are logged once, and the limits counted the first.
    items = [
        RawIn(raw=mail(sender="ana@turn.example.org", body=LETTER_A), source="test"),
        RawIn(
            raw=mail(sender="ana@turn.example.org", to=COMMANDS, body="STATUS WGIG-0001\n"),
            source="test",
        ),
    ]
    store_raw_batch(app=app, items=items)
    assert [o.outcome for o in process_pending(app=app)] == ["contribution", "command"]
    with Session(app.engine) as session:
        log = session.exec(orm_select(ReplyLog.kind, ReplyLog.decision)).all()
        answers = session.exec(orm_select(OutboxMessage.kind, OutboxMessage.raw)).all()
    assert sorted(log) == [("ack", "queued"), ("results", "queued")]
    results = next(raw for kind, raw in answers if kind == "results")
    assert b"WGIG-0001" in results and b"no such contribution" not in results
