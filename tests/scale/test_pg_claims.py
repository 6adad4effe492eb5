"""Claims on PostgreSQL: two claimers never get the same row; a lease that ran out gives the
rows to the next one; a sender at work keeps its lease; lock keys follow the schema; a
moderation token is decided once when two processes race for it."""

from __future__ import annotations

import threading

from sqlalchemy import text
from sqlmodel import Session

from mailbot.app import App
from mailbot.db import make_engine, session_scope
from mailbot.moderation.tokens import consume, issue
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from mailbot.scale.claims import OutboxLease, claim_outbox, claim_stored, release_expired
from mailbot.scale.locks import Leadership
from tests.scale.cluster import fresh_schema

RAW = (
    "From: P{0} <p{0}@example.org>\r\nTo: contrib@consult.example.org\r\n"
    "Subject: Seats {0}\r\nMessage-ID: <claim-{0}@example.org>\r\n\r\nTwo seats, {0}.\r\n"
)


def store(app: App, count: int) -> None:
    items = [RawIn(raw=RAW.format(i).encode(), source="smtp") for i in range(count)]
    store_raw_batch(app=app, items=items)


def test_two_pipelines_claim_disjoint_batches_and_a_dead_ones_come_back(app: App) -> None:
    store(app, 10)
    first = claim_stored(engine=app.engine, limit=6, lease=60)
    second = claim_stored(engine=app.engine, limit=6, lease=60)
    assert len(first) == 6 and len(second) == 4 and not set(first) & set(second)
    assert claim_stored(engine=app.engine, limit=6, lease=60) == []
    with app.engine.begin() as conn:  # the first pipeline died: its lease runs out
        conn.execute(
            text(
                "UPDATE raw_message SET claimed_until = now() - interval '1 s' WHERE id = ANY(:i)"
            ),
            {"i": first},
        )
    assert claim_stored(engine=app.engine, limit=10, lease=60) == first


def test_senders_claim_disjoint_rows_and_keep_their_lease(app: App) -> None:
    store(app, 4)
    process_pending(app=app)  # claims with a 60 s lease, files, queues 4 receipts
    now = app.clock.now()
    mine = claim_outbox(engine=app.engine, now=now, limit=3, lease=1)
    theirs = claim_outbox(engine=app.engine, now=now, limit=3, lease=60)
    assert len(mine) == 3 and len(theirs) == 1
    lease = OutboxLease(engine=app.engine, lease=0)  # renew at every call
    lease.keep(mine)
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE outbox_message SET claimed_until = now() - interval '1 s'"))
        conn.execute(text("UPDATE outbox_message SET claimed_by = 'gone:1' WHERE id = :i"),
                     {"i": theirs[0]})  # fmt: skip
    lease = OutboxLease(engine=app.engine, lease=60)
    lease.renewed -= 60
    lease.keep(mine)  # ours: renewed; the dead sender's row: not
    assert release_expired(engine=app.engine) == 1
    assert claim_outbox(engine=app.engine, now=now, limit=10, lease=60) == theirs


def test_a_leader_lock_is_one_holder_s_and_per_schema(app: App) -> None:
    one, two = Leadership(app.engine, "c/leader/x"), Leadership(app.engine, "c/leader/x")
    assert one.try_acquire()
    assert not two.try_acquire()
    assert one.alive()
    with fresh_schema() as url:  # another consultation (or test) in the same database
        engine = make_engine(url)
        elsewhere = Leadership(engine, "c/leader/x")
        assert elsewhere.try_acquire()
        elsewhere.release()
        engine.dispose()
    one.release()
    assert two.try_acquire()
    two.release()


def test_two_processes_racing_on_one_token_decide_once(app: App) -> None:
    """One moderator decision per token: the second UPDATE waits for the first commit, then
    finds the token used (PostgreSQL re-checks the row after the lock)."""
    now = app.clock.now()
    with session_scope(app.engine) as session:
        token = issue(
            session=session, settings=app.settings, now=now, action="approve", item="WGIG-0001",
            issued_to="mod@example.org",
        )  # fmt: skip
    token_id = token.split(".")[1]
    first = Session(app.engine)
    assert consume(session=first, token_id=token_id, now=now, by="a", raw_id=None)
    results: list[bool] = []

    def second() -> None:
        with session_scope(app.engine) as session:
            results.append(
                consume(session=session, token_id=token_id, now=now, by="b", raw_id=None)
            )

    racer = threading.Thread(target=second)
    racer.start()
    racer.join(0.5)
    assert racer.is_alive(), "the second decision did not wait for the first"
    first.commit()
    first.close()
    racer.join(10)
    assert results == [False]


def test_rows_of_a_dead_process_of_this_host_come_back_before_the_lease_ends(app: App) -> None:
    import socket
    import subprocess
    import sys

    store(app, 3)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    dead, elsewhere = f"{socket.gethostname()}:{gone}", "another-host:1"
    ids = claim_stored(engine=app.engine, limit=3, lease=600)
    with app.engine.begin() as conn:  # one row each: a dead local pipeline, another host's
        conn.execute(text("UPDATE raw_message SET claimed_by = :w WHERE id = :i"),
                     {"w": dead, "i": ids[0]})  # fmt: skip
        conn.execute(text("UPDATE raw_message SET claimed_by = :w WHERE id = ANY(:i)"),
                     {"w": elsewhere, "i": ids[1:]})  # fmt: skip
    # The dead process's row at once; the other host's rows wait for their lease.
    assert claim_stored(engine=app.engine, limit=3, lease=600) == [ids[0]]
