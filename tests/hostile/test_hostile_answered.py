"""The answers the rate limits count, read once per transaction: a batch counts the answers it
adds itself, and the next transaction reads again what others wrote meanwhile."""

from __future__ import annotations

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.compose import build
from mailbot.hostile.models import ReplyLog
from mailbot.models import OutboxMessage
from mailbot.outbox import enqueue
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch


def command(n: int, sender: str) -> bytes:
    return (
        f"From: Ana <{sender}>\r\nTo: contrib-request@consult.example.org\r\n"
        f"Subject: HELP\r\nMessage-ID: <batch-cmd-{n}-{sender}>\r\n\r\nHELP\r\n"
    ).encode()


def results_to(app: App, s: Session, to: str, key: str) -> OutboxMessage | None:
    now = app.clock.now()
    msg = build(settings=app.settings, now=now, to=[to], subject="S", body="x", lang="en")
    return enqueue(
        session=s,
        settings=app.settings,
        guards=app.road.guards,
        now=now,
        msg=msg,
        kind="results",
        dedupe_key=key,
    )


def test_a_batch_counts_the_answers_it_adds(app: App) -> None:
    # Bob first, so his count is read with Ana's before any answer is added.
    items = [RawIn(raw=command(0, "bob@example.org"), source="test")]
    items += [RawIn(raw=command(n, "ana@example.org"), source="test") for n in range(8)]
    store_raw_batch(app=app, items=items)
    assert [o.outcome for o in process_pending(app=app)] == ["command"] * 9
    with Session(app.engine) as s:
        rows = s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
        log = s.exec(select(ReplyLog).order_by(ReplyLog.id)).all()  # type: ignore[arg-type]
    ana = [r.kind for r in rows if r.recipients == ["ana@example.org"]]
    assert ana == ["results"] * 5 + ["suppressed"]  # as when filed one transaction each
    assert [r.kind for r in rows if r.recipients == ["bob@example.org"]] == ["results"]
    assert [r.decision for r in log if r.recipient == "ana@example.org"] == (
        ["queued"] * 5 + ["suppressed", "notice"] + ["suppressed"] * 2
    )


def test_one_transaction_counts_the_answers_it_adds(app: App) -> None:
    with Session(app.engine) as s:
        queued = [results_to(app, s, "ana@example.org", f"k:{n}") for n in range(7)]
        assert results_to(app, s, "bob@example.org", "k:bob") is not None
        s.commit()
    assert [row is not None for row in queued] == [True] * 5 + [False] * 2


def test_the_next_transaction_reads_what_others_wrote_meanwhile(app: App) -> None:
    with Session(app.engine) as first:
        for n in range(3):
            assert results_to(app, first, "ana@example.org", f"k:first:{n}") is not None
        first.commit()
        with Session(app.engine) as other:  # another pipeline, say
            for n in range(2):
                assert results_to(app, other, "ana@example.org", f"k:other:{n}") is not None
            other.commit()
        # Five answers now: the limit. The first session's earlier reading (three) is gone.
        assert results_to(app, first, "ana@example.org", "k:first:3") is None
        first.commit()
