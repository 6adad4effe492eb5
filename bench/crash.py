"""Crash harness: `mailbot run` as a separate process takes N messages over SMTP from several
client threads while it is SIGKILLed at random moments and restarted; then we count.

    .venv/bin/python bench/crash.py --messages 10000 --kills 3 --threads 8 [--seed 7]
    MAILBOT_TEST_DATABASE=postgresql .venv/bin/python bench/crash.py ...   # on PostgreSQL

Clients behave like a sending MTA: a message without a 250 is retried until it gets one
(a 250 lost in a kill makes the retry a duplicate, which must be stored once). Kills land
while mail flows in (all but one) and one while the outbox drains, to hit the window between
handing an acknowledgement to the relay and marking it sent. Invariants, for every message
that got a 250: stored, exactly one contribution, exactly one ack outbox row, acknowledged
on the wire; the relay's receipts are counted raw and by Message-ID.
"""

from __future__ import annotations

# ruff: noqa: E402  (the sys.path fix below must run before the standard imports)
import sys
from pathlib import Path

# Run as a script, bench/ is sys.path[0], and bench/threading.py (another benchmark) would
# shadow the standard library's threading: look in the project root instead.
_BENCH = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(_BENCH)]

import argparse
import contextlib
import email.parser
import email.policy
import json
import os
import random
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get(
    "MAILBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def message(i: int) -> bytes:
    return (
        f"From: Person {i} <p{i}@crash.example.org>\r\nTo: contrib@consult.example.org\r\n"
        f"Subject: Crash test {i}\r\nMessage-ID: <crash-{i}@crash.example.org>\r\n\r\n"
        f"Contribution {i}: the working group should publish its documents.\r\n"
    ).encode()


@dataclass
class Relay:
    """The capture relay mailbot sends through: keeps every DATA it accepts."""

    port: int = field(default_factory=free_port)
    received: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        relay = self

        class Keep:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                with relay.lock:
                    relay.received.append(envelope.original_content)
                return "250 OK"

        self.controller = Controller(Keep(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


class Bot:
    """`mailbot run` in a child process; SIGKILL and restart on demand."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailbot.cli", "run"],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        self.starts += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"mailbot run exited with {code}, see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mailbot run did not start listening")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _database(workdir: Path) -> tuple[str, Any]:
    if os.environ.get("MAILBOT_TEST_DATABASE", "sqlite") != "postgresql":
        return f"sqlite:///{workdir / 'mailbot.sqlite3'}", None
    from sqlalchemy import create_engine, text

    schema = f"crash_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{PG_URL}?options=-csearch_path%3D{schema}", drop


def run_harness(  # noqa: C901  (too complex: to split)
    *,
    messages: int,
    kills: int = 3,
    threads: int = 8,
    seed: int | None = None,
    workdir: Path | None = None,
    timeout: float = 900.0,
    progress: bool = False,
) -> dict[str, Any]:
    rng = random.Random(seed)
    tmp = tempfile.TemporaryDirectory(prefix="mailbot-crash-") if workdir is None else None
    work = Path(tmp.name) if tmp else Path(workdir)  # type: ignore[arg-type]
    work.mkdir(parents=True, exist_ok=True)
    url, drop = _database(work)
    relay = Relay()
    relay.start()
    port = free_port()
    env = {
        **os.environ,
        "MAILBOT_CONFIG": str(ROOT / "config" / "mailbot.toml"),
        "MAILBOT_SECRET": "bench-secret-0123456789abcdef0123456789abcdef",
        "MAILBOT_DATABASE_URL": url,
        "MAILBOT_DATA_DIR": str(work / "var"),
        "MAILBOT_LISTEN": f"127.0.0.1:{port}",
        "MAILBOT_RELAY": f"smtp://127.0.0.1:{relay.port}",
        # each message has its own sender; the global brake would only delay the count
        "MAILBOT_LIMITS__GLOBAL_PER_WINDOW": "0",
    }
    bot = Bot(env, port, work / "mailbot.log")
    started = time.monotonic()
    accepted: dict[int, str] = {}  # message number -> the 250 text it got
    attempts = Counter[int]()
    lock = threading.Lock()
    todo = list(range(messages))
    kill_at = sorted(rng.sample(range(messages // 10, messages * 9 // 10), max(kills - 1, 0)))
    kill_times: list[float] = []

    def client() -> None:
        conn: smtplib.SMTP | None = None
        while True:
            with lock:
                if not todo:
                    break
                i = todo.pop()
            while time.monotonic() - started < timeout:
                attempts[i] += 1
                try:
                    if conn is None:
                        conn = smtplib.SMTP("127.0.0.1", port, timeout=30)
                    conn.sendmail(
                        f"p{i}@crash.example.org", ["contrib@consult.example.org"], message(i)
                    )
                    with lock:
                        accepted[i] = "250"
                    break
                except (OSError, smtplib.SMTPException):
                    # killed mid-session, refused while down, or 451: retry like an MTA
                    if conn is not None:
                        with contextlib.suppress(OSError):
                            conn.close()
                    conn = None
                    time.sleep(0.02)
        if conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                conn.quit()

    from mailbot.boot import make_app
    from mailbot.config import load_settings

    bot.start()
    workers = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    try:
        # Kills while mail flows in.
        for threshold in kill_at:
            while len(accepted) < threshold and time.monotonic() - started < timeout:
                time.sleep(0.005)
            time.sleep(rng.random() * 0.05)
            bot.kill()
            kill_times.append(time.monotonic() - started)
            if progress:
                print(f"  SIGKILL #{len(kill_times)} after {len(accepted)} accepted", flush=True)
            bot.start()
        for w in workers:
            w.join(max(1.0, timeout - (time.monotonic() - started)))
        app = make_app(load_settings(environ=env), migrate=False)
        from sqlalchemy import text

        def outbox_counts() -> dict[str, int]:
            with app.engine.connect() as c:
                return dict(
                    c.execute(
                        text("SELECT status, count(*) FROM outbox_message GROUP BY status")
                    ).all()
                )

        def new_raw() -> int:
            with app.engine.connect() as c:
                return int(
                    c.execute(
                        text("SELECT count(*) FROM raw_message WHERE state = 'new'")
                    ).scalar_one()
                )

        # The last kill while the outbox drains (acks handed to the relay but maybe not marked).
        if kills:
            while time.monotonic() - started < timeout:
                counts = outbox_counts()
                busy = counts.get("pending", 0) + counts.get("sending", 0)
                if counts.get("sent", 0) >= 1 and busy > 0:
                    break
                if counts.get("sent", 0) >= len(accepted):
                    break
                time.sleep(0.01)
            time.sleep(rng.random() * 0.2)
            bot.kill()
            kill_times.append(time.monotonic() - started)
            if progress:
                print(f"  SIGKILL #{len(kill_times)} while draining: {outbox_counts()}", flush=True)
            bot.start()
        # Wait for the bot to finish everything.
        while time.monotonic() - started < timeout:
            counts = outbox_counts()
            if (
                new_raw() == 0
                and counts.get("pending", 0) + counts.get("sending", 0) == 0
                and counts.get("sent", 0) >= len(accepted)
            ):
                break
            time.sleep(0.2)
        bot.stop()
        elapsed = time.monotonic() - started
        result = count(app=app, accepted=set(accepted), relay=relay.received)
        result.update(
            {
                "messages": messages,
                "threads": threads,
                "kills": len(kill_times),
                "kill_times_s": [round(t, 2) for t in kill_times],
                "bot_starts": bot.starts,
                "client_retries": sum(attempts.values()) - len(attempts),
                "seconds": round(elapsed, 1),
                "database": app.engine.dialect.name,
                "seed": seed,
            }
        )
        app.engine.dispose()
        return result
    finally:
        bot.stop()
        relay.stop()
        if drop:
            drop()
        if tmp:
            tmp.cleanup()


def count(*, app: Any, accepted: set[int], relay: list[bytes]) -> dict[str, Any]:
    """The invariants, counted from the database and from what the relay received."""
    from sqlalchemy import text

    with app.engine.connect() as c:
        stored = Counter(
            r[0]
            for r in c.execute(
                text("SELECT message_id FROM raw_message WHERE message_id LIKE 'crash-%'")
            )
        )
        states = dict(
            c.execute(text("SELECT state, count(*) FROM raw_message GROUP BY state")).all()
        )
        contributions = Counter(
            r[0]
            for r in c.execute(
                text("SELECT message_id FROM contribution WHERE message_id LIKE 'crash-%'")
            )
        )
        acks = Counter(
            r[0]
            for r in c.execute(
                text(
                    "SELECT c.message_id FROM outbox_message o JOIN contribution c "
                    "ON c.id = o.contribution_id WHERE o.kind = 'ack'"
                )
            )
        )
        unsent = int(
            c.execute(
                text("SELECT count(*) FROM outbox_message WHERE status <> 'sent'")
            ).scalar_one()
        )
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    wire: Counter[str] = Counter()
    wire_ids: dict[str, set[str]] = {}
    for data in relay:
        head = parser.parsebytes(data)
        original = str(head.get("In-Reply-To", "")).strip("<> ")
        wire[original] += 1
        wire_ids.setdefault(original, set()).add(str(head.get("Message-ID", "")))
    ids = {f"crash-{i}@crash.example.org" for i in accepted}
    return {
        "accepted_250": len(ids),
        "stored": sum(1 for m in ids if stored[m]),
        "lost": sum(1 for m in ids if not stored[m]),
        "stored_twice": sum(1 for m in ids if stored[m] > 1),
        "raw_states": states,
        "missing_contributions": sum(1 for m in ids if contributions[m] == 0),
        "duplicate_contributions": sum(1 for m in ids if contributions[m] > 1),
        "missing_ack_rows": sum(1 for m in ids if acks[m] == 0),
        "duplicate_ack_rows": sum(1 for m in ids if acks[m] > 1),
        "unsent_outbox_rows": unsent,
        "relay_receipts": len(relay),
        "acks_not_received": sum(1 for m in ids if wire[m] == 0),
        "acks_received_twice": sum(1 for m in ids if wire[m] > 1),
        "acks_twice_with_same_message_id": sum(
            1 for m in ids if wire[m] > 1 and len(wire_ids[m]) == 1
        ),
        "duplicate_acks_after_message_id_dedupe": sum(
            1 for m in ids if len(wire_ids.get(m, ())) > 1
        ),
    }


def failures_of(result: dict[str, Any]) -> list[str]:
    keys = (
        "lost",
        "stored_twice",
        "missing_contributions",
        "duplicate_contributions",
        "missing_ack_rows",
        "duplicate_ack_rows",
        "unsent_outbox_rows",
        "acks_not_received",
        "duplicate_acks_after_message_id_dedupe",
    )
    return [f"{k}={result[k]}" for k in keys if result[k]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here")
    args = parser.parse_args()
    result = run_harness(
        messages=args.messages,
        kills=args.kills,
        threads=args.threads,
        seed=args.seed,
        workdir=args.workdir,
        timeout=args.timeout,
        progress=True,
    )
    print(json.dumps(result, indent=2))
    bad = failures_of(result)
    print(
        "FAIL: " + ", ".join(bad)
        if bad
        else "OK: 0 lost, 0 duplicate contributions, 0 duplicate acknowledgements"
    )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
