"""Several `mailbot run --role ...` processes on one PostgreSQL schema, and mail for them.

Used by the scale tests and by bench/scale.py: start, SIGKILL and restart role processes,
send contributions (a third of them replies into shared threads) over several listeners
with retries, and read back what was filed and acknowledged.
"""

from __future__ import annotations

import mailbox
import os
import random
import signal
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from mailbot.config import PROJECT_DIR
from tests.support import PG_URL, TEST_SECRET, free_port, wait_for

TO = "contrib+composition@consult.example.org"


@dataclass
class Role:
    """One `mailbot run` process with some roles; restartable under the same port."""

    name: str
    roles: tuple[str, ...]
    env: dict[str, str]
    port: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    def start(self) -> None:
        env = dict(self.env)
        if self.port:
            env["MAILBOT_LISTEN"] = f"127.0.0.1:{self.port}"
        args = [arg for role in self.roles for arg in ("--role", role)]
        log = open(Path(env["MAILBOT_DATA_DIR"]) / f"{self.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailbot.cli", "run", *args],
            env=env,
            cwd=env["MAILBOT_DATA_DIR"],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        log.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.kill()


def base_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(data_dir),
        "MAILBOT_SECRET": TEST_SECRET,
        "MAILBOT_LISTEN": "127.0.0.1:0",
        **extra,
    }
    env.pop("MAILBOT_RELAY", None)
    return env


@dataclass
class Cluster:
    members: list[Role] = field(default_factory=list)

    def add(self, name: str, *roles: str, env: dict[str, str], listen: bool = False) -> Role:
        member = Role(name, roles, env, port=free_port() if listen else None)
        self.members.append(member)
        return member

    @property
    def ports(self) -> list[int]:
        return [m.port for m in self.members if m.port]

    def start(self) -> None:
        for member in self.members:
            member.start()
        for port in self.ports:
            assert wait_for(lambda port=port: listening(port), timeout=60), "listener not up"

    def stop(self) -> None:
        for member in self.members:
            member.stop()


@contextmanager
def fresh_schema() -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def listening(port: int) -> bool:
    try:
        smtplib.SMTP("127.0.0.1", port, timeout=2).quit()
        return True
    except OSError:
        return False


def chaos(cluster: Cluster, stop: threading.Event, every: float, seed: int = 7) -> list[str]:
    """SIGKILL a random member every `every` s and start it again; returns who was killed."""
    rng = random.Random(seed)
    killed: list[str] = []
    while not stop.wait(every):
        member = rng.choice(cluster.members)
        member.kill()
        killed.append(member.name)
        member.restarts += 1
        member.start()
    return killed


def messages(count: int, *, seed: int = 13) -> list[tuple[str, bytes]]:
    """(Message-ID, bytes): contributions from distinct senders; every third one a reply to
    an earlier message (a root or a reply), so threads are shared and several levels deep."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    out: list[tuple[str, bytes]] = []
    roots: list[tuple[str, str]] = []  # (message id, subject)
    earlier: list[tuple[str, str, list[str]]] = []  # (message id, subject, references)
    for i in range(count):
        mid = f"scale-{i}@example.org"
        date = format_datetime(start + timedelta(seconds=i))
        if i % 3 == 2 and earlier:
            parent_id, subject, refs = rng.choice(earlier)
            refs = [*refs, parent_id][-10:]
            head = (
                f"Subject: Re: {subject}\r\nIn-Reply-To: <{parent_id}>\r\n"
                f"References: {' '.join(f'<{r}>' for r in refs)}\r\n"
            )
        else:
            subject, refs = f"Proposal {i} on seats", []
            roots.append((mid, subject))
            head = f"Subject: {subject}\r\n"
        earlier.append((mid, subject, refs))
        raw = (
            f"From: Person {i} <p{i}@example.org>\r\nTo: {TO}\r\n{head}"
            f"Message-ID: <{mid}>\r\nDate: {date}\r\n\r\n"
            f"Contribution number {i}: each region should have {i % 7 + 1} seats.\r\n"
        ).encode()
        out.append((mid, raw))
    return out


def send_all(
    ports: list[int],
    mails: list[tuple[str, bytes]],
    *,
    sessions: int = 4,
    deadline: float = 1800,
    pace: float = 0.0,
) -> tuple[set[str], float]:
    """Send every message until one listener says 250 (retrying over the others), at most
    one per `pace` s per session; returns the Message-IDs accepted and the seconds it took."""
    accepted: set[str] = set()
    lock = threading.Lock()
    started = time.monotonic()

    def worker(share: list[tuple[str, bytes]], first: int) -> None:
        turn = first
        client: smtplib.SMTP | None = None
        for mid, raw in share:
            time.sleep(pace)
            while time.monotonic() - started < deadline:
                port = ports[turn % len(ports)]
                try:
                    if client is None:
                        client = smtplib.SMTP("127.0.0.1", port, timeout=30)
                    client.sendmail(f"p@{mid.split('@')[1]}", [TO], raw)
                    with lock:
                        accepted.add(mid)
                    break
                except (OSError, smtplib.SMTPException):
                    client = _close(client)
                    turn += 1  # try the other listener
                    time.sleep(0.05)
            turn += 1  # spread over the listeners
            if turn % 25 == 0:  # a new session now and then: both listeners get mail
                client = _close(client)
        _close(client)

    threads = [
        threading.Thread(target=worker, args=(mails[i::sessions], i)) for i in range(sessions)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return accepted, time.monotonic() - started


def _close(client: smtplib.SMTP | None) -> None:
    if client is not None:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return None


def filed(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM raw_message WHERE state = 'new'")).scalar()
        outbox = conn.execute(
            text("SELECT count(*) FROM outbox_message WHERE status IN ('pending', 'sending')")
        ).scalar()
        done = conn.execute(text("SELECT count(*) FROM contribution")).scalar()
    return {"new": stored, "queued": outbox, "contributions": done}


def receipts(maildir: Path) -> list[str]:
    """The In-Reply-To of every receipt written to the outbox maildir."""
    if not (maildir / "new").exists():
        return []
    box = mailbox.Maildir(maildir, create=False)
    return [str(m["In-Reply-To"]).strip().strip("<>") for m in box]


def forest(engine: Engine) -> tuple[dict[str, str | None], set[frozenset[str]]]:
    """Each message's parent (by Message-ID) and the threads as sets of Message-IDs."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, message_id, parent_id, thread_id FROM contribution")
        ).all()
    by_id = {r.id: r.message_id for r in rows}
    parents = {r.message_id: by_id.get(r.parent_id) for r in rows}
    threads: dict[int, set[str]] = {}
    for r in rows:
        threads.setdefault(r.thread_id, set()).add(r.message_id)
    return parents, {frozenset(t) for t in threads.values()}
