"""Done-when of issue 13: 2 listeners, 3 pipelines, 2 senders and 2 schedulers as separate
processes on one PostgreSQL schema, a random one SIGKILLed every few seconds and restarted,
while contributions (a third of them replies into shared threads) arrive over both listeners.

Every message that got 250 is filed once, every receipt is written once, the references are
unique and follow the order of filing, and the threads equal a one-process build of the same
messages. Size: MAILBOT_SCALE_MESSAGES (CI default below; the real run used 10,000).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from mailbot.boot import make_app
from mailbot.clock import FrozenClock
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from tests.scale.cluster import (
    Cluster,
    base_env,
    chaos,
    filed,
    forest,
    fresh_schema,
    messages,
    receipts,
    send_all,
)
from tests.support import make_settings, wait_for

SIZE = int(os.environ.get("MAILBOT_SCALE_MESSAGES", "180"))
KILL_EVERY = float(os.environ.get("MAILBOT_SCALE_KILL_EVERY", "3"))
# The CI-sized run is paced over ~SEND_SECONDS, so several processes die while mail arrives.
SEND_SECONDS = float(os.environ.get("MAILBOT_SCALE_SEND_SECONDS", "10"))


def one_process_forest(tmp_path: Path, mails: list[bytes]) -> object:
    with fresh_schema() as url:
        app = make_app(make_settings(url, tmp_path / "single"), clock=FrozenClock())
        try:
            store_raw_batch(app=app, items=[RawIn(raw=raw, source="smtp") for raw in mails])
            process_pending(app=app)
            return forest(app.engine)
        finally:
            app.engine.dispose()


def start_cluster(database_url: str, data: Path) -> Cluster:
    env = base_env(database_url, data, MAILBOT_CLAIM_LEASE="3")
    cluster = Cluster()
    for i in (1, 2):
        cluster.add(f"listener{i}", "listener", env=env, listen=True)
    for i in (1, 2, 3):
        cluster.add(f"pipeline{i}", "pipeline", env=env)
    for i in (1, 2):
        cluster.add(f"sender{i}", "sender", env=env)
    for i in (1, 2):
        cluster.add(f"scheduler{i}", "scheduler", env=env)
    cluster.start()
    return cluster


def test_killed_processes_lose_nothing_and_double_nothing(
    tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "var"
    app = make_app(make_settings(database_url, data))  # the schema, once, before the processes
    maildir = app.settings.server.outbox_maildir
    mails = messages(SIZE)
    began = time.monotonic()
    cluster = start_cluster(database_url, data)
    up = time.monotonic() - began
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=lambda: killed.extend(chaos(cluster, stop, KILL_EVERY)))
    killer.start()
    try:
        pace = max(SEND_SECONDS * 4 / SIZE - 0.01, 0.0)  # 4 sessions
        accepted, took = send_all(cluster.ports, mails, pace=pace)
        stop.set()
        killer.join()
        settled = wait_for(
            lambda: (
                filed(app.engine) == {"new": 0, "queued": 0, "contributions": len(accepted)}
                and len(receipts(maildir)) >= len(accepted)
            ),
            timeout=60 + SIZE / 4,  # a loaded machine files a few msg/s
        )
        drained = time.monotonic() - began - up
    finally:
        stop.set()
        cluster.stop()
    print(
        f"\n{len(accepted)} messages: cluster up in {up:.1f} s, sent in {took:.1f} s, "
        f"all filed and acknowledged after {drained:.1f} s ({len(accepted) / drained:.1f} msg/s); "
        f"SIGKILLed {len(killed)}: {dict(Counter(killed))}"
    )
    assert len(accepted) == len(mails), "a message never got its 250"
    assert len(killed) >= 1
    assert settled, f"not settled: {filed(app.engine)}, {len(receipts(maildir))} receipts"
    with app.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, ref, message_id FROM contribution ORDER BY id")).all()
        stored = conn.execute(text("SELECT count(*) FROM raw_message")).scalar()
    # Filed exactly once each; every stored message filed.
    assert Counter(r.message_id for r in rows) == Counter(accepted)
    assert stored == len(accepted)
    # References: unique, gapless, in the order of filing.
    numbers = [int(r.ref.rsplit("-", 1)[1]) for r in rows]
    assert numbers == list(range(1, len(rows) + 1))
    # One receipt each, about the right message.
    assert Counter(receipts(maildir)) == Counter(accepted)
    # Threads as one process builds them from the same messages.
    assert forest(app.engine) == one_process_forest(tmp_path, [raw for _, raw in mails])
    app.engine.dispose()
