"""Leaders on PostgreSQL: of two scheduler processes one leads; SIGKILL it and the other takes
over within seconds; the digest due goes out once (the sent record), whoever leads. The same
for two IMAP poller processes on one (real Dovecot) folder: each message filed once.
`mailbot status --json` names the leader and shows each role's heartbeat."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from mailbot.app import App
from mailbot.boot import make_app
from mailbot.calendar.registry import record_sent
from mailbot.db import session_scope
from mailbot.models import Participant
from mailbot.scale.status import status
from tests.dovecot import Dovecot, sample_message
from tests.imap.helpers import counts, folder_count
from tests.scale.cluster import Cluster, Role, base_env
from tests.support import make_settings, wait_for


def leader(app: App) -> str | None:
    return status(app=app)["leaders"].get("scheduler")


def digests(app: App) -> tuple[int, int]:
    """(digest records, the most digest rows any one recipient got)."""
    with app.engine.connect() as conn:
        rows = conn.execute(text("SELECT recipients FROM outbox_message WHERE kind = 'digest'"))
        records = conn.execute(text("SELECT count(*) FROM sent_record WHERE kind = 'digest'"))
        got = Counter(r for (recipients,) in rows for r in recipients)
        return int(records.scalar_one()), max(got.values(), default=0)


def arm_a_due_digest(app: App) -> None:
    """Armed weeks ago, one subscriber: the last Monday's digest is due at start-up."""
    armed = datetime(2026, 11, 2, 9, tzinfo=UTC)
    with session_scope(app.engine) as session:
        record_sent(
            app=app, session=session, kind="armed", period="armed", due_at=armed, messages=0
        )
        session.add(
            Participant(email="reader@example.org", first_seen=armed, digest_subscribed=True)
        )


def member_of(cluster: Cluster, process: str) -> Role:
    pid = int(process.rsplit(":", 1)[1])
    return next(m for m in cluster.members if m.proc is not None and m.proc.pid == pid)


def test_the_scheduler_fails_over_and_the_digest_goes_once(
    tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "var"
    app = make_app(make_settings(database_url, data))
    arm_a_due_digest(app)
    env = base_env(database_url, data)
    cluster = Cluster()
    cluster.add("scheduler1", "scheduler", env=env)
    cluster.add("scheduler2", "scheduler", env=env)
    cluster.add("sender", "sender", env=env)
    cluster.start()
    try:
        first = wait_for(lambda: leader(app), timeout=60)
        assert first, "no scheduler leader"
        assert wait_for(lambda: digests(app) == (1, 1), timeout=30), digests(app)
        both = wait_for(lambda: status(app=app)["alive"].get("scheduler") == 2, timeout=30)
        assert both, status(app=app)
        member_of(cluster, first).kill()
        killed_at = time.monotonic()
        second = wait_for(lambda: (who := leader(app)) and who != first and who, timeout=20)
        took = time.monotonic() - killed_at
        assert second, status(app=app)
        assert took < 10, f"fail-over took {took:.1f} s"
        # The dead leader's heartbeat goes stale within a few seconds.
        assert wait_for(lambda: status(app=app)["alive"].get("scheduler") == 1, timeout=20)
        log = data / f"{member_of(cluster, second).name}.log"
        assert wait_for(lambda: "start-up check" in log.read_text(), timeout=30)
        figures = json.loads(
            subprocess.run(
                [sys.executable, "-m", "mailbot.cli", "status", "--json"],
                env=env,
                cwd=data,
                capture_output=True,
                check=True,
                timeout=60,
            ).stdout
        )
        assert figures["leaders"] == {"scheduler": second}
        assert figures["alive"] == {"scheduler": 1, "sender": 1}
        assert {"count", "oldest_age_s"} <= set(figures["stored"])
        # The new leader's catch-up found the digest sent: it went out once, and was sent.
        assert wait_for(lambda: digests(app) == (1, 1), timeout=5)
        assert wait_for(lambda: status(app=app)["outbox"]["count"] == 0, timeout=30)
    finally:
        cluster.stop()
    assert digests(app) == (1, 1)
    app.engine.dispose()


def imap_leader(app: App) -> str | None:
    return status(app=app)["leaders"].get("imap")


def test_the_imap_poller_fails_over_and_files_each_message_once(
    tmp_path: Path, database_url: str, dovecot: Dovecot
) -> None:
    data = tmp_path / "var"
    app = make_app(make_settings(database_url, data))
    env = base_env(
        database_url,
        data,
        MAILBOT_IMAP_URL=dovecot.url(),
        MAILBOT_IMAP__CAFILE=str(dovecot.cafile),
        MAILBOT_IMAP__BACKOFF_INITIAL="0.2",
    )
    cluster = Cluster()
    cluster.add("imap1", "imap", env=env)
    cluster.add("imap2", "imap", env=env)
    cluster.add("worker", "pipeline", "sender", env=env)
    cluster.start()
    try:
        dovecot.append("INBOX", sample_message(1))
        first = wait_for(lambda: imap_leader(app), timeout=60)
        assert first, status(app=app)
        assert wait_for(lambda: counts(app)["contributions"] == 1, timeout=60)
        assert wait_for(lambda: status(app=app)["alive"].get("imap") == 2, timeout=30)
        member_of(cluster, first).kill()
        killed_at = time.monotonic()
        dovecot.append("INBOX", sample_message(2))
        second = wait_for(lambda: (who := imap_leader(app)) and who != first and who, timeout=20)
        assert second, status(app=app)
        assert time.monotonic() - killed_at < 10
        assert wait_for(lambda: counts(app)["contributions"] == 2, timeout=60)
        assert wait_for(lambda: folder_count(dovecot, "Processed") == 2, timeout=30)
    finally:
        cluster.stop()
    figures = counts(app)
    assert figures["raw"] == figures["distinct_raw"] == 2
    assert figures["acks"] == figures["distinct_acks"] == 2
    app.engine.dispose()
