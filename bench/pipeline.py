"""Benchmark: `mailbot run` end to end, from the SMTP client to the acknowledgement written.

Three measurements against one `mailbot run` process (SQLite; `--postgresql` for PostgreSQL):
1. Burst: N contributions from N distinct senders, as fast as 8 SMTP sessions send them;
   acknowledgements written per second (first 250 to the last ack row), and the SMTP intake
   rate meanwhile, as a ratio of a bare aiosmtpd server (250 only) driven the same way (the
   mean of one run before the burst and one after it: this machine's speed drifts);
   the acknowledgements per second while mail still arrived and after it stopped; and the
   CPU time per message of each process (listener, pipeline, sender, preparer, and this
   script's own SMTP clients, which share the machine), which a machine busy with other
   work changes far less than the rates.
2. Steady rates (50 and 100 msg/s by default) for `--seconds` each: latency from durable
   receipt (`contribution.received_at`) to the acknowledgement's outbox row (`created_at`),
   p50 / p99 / max, read from the database.

    .venv/bin/python bench/pipeline.py [--messages 2000] [--seconds 10] [--rates 50,100]
        [--postgresql] [--code DIR]   # DIR: another checkout of mailbot to run, for a baseline
        [--distinct]   # each text its own words (no two alike), not one letter for all

By default every contribution has the same 16-line body (a campaign's copies: the language
model's and the campaign fingerprint's caches answer after the first); `--distinct` gives
each its own sentences, as in a rush of people writing their own words.
"""

from __future__ import annotations

# ruff: noqa: E402  (the sys.path fix below must run before the standard imports)
import sys
from pathlib import Path

# bench/threading.py would shadow the standard library's threading when bench/ heads sys.path.
_BENCH = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(_BENCH)]

import argparse
import os
import random
import re
import smtplib
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.smtp_intake import BARE, drive, free_port, wait_port

PG_URL = os.environ.get(
    "MAILBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SESSIONS = 8


WORDS = (  # noqa: SIM905 (a sentence reads better than 32 quoted words)
    "the working group should publish its papers every member region seat vote meeting open "
    "transparent mandate review report draft comment period public online agenda minutes "
    "chair secretariat budget funding civil society caucus"
).split()
DISTINCT = False  # --distinct


def contribution(tag: str, n: int) -> bytes:
    """About 1 KB from a sender of its own (so no rate limit applies)."""
    if DISTINCT:  # its own sentences, the same for the same n (a baseline gets the same mail)
        pick = random.Random(n).choice
        body = "".join(" ".join(pick(WORDS) for _ in range(10)) + ".\r\n" for _ in range(16))
    else:
        body = "".join(
            f"Point {i}: the working group should publish its papers.\r\n" for i in range(16)
        )
    return (
        f"From: Person {n} <{tag}-{n}@example.org>\r\nTo: contrib@consult.example.org\r\n"
        f"Subject: Contribution {n}\r\nMessage-ID: <{tag}-{n}@bench.example.org>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


def paced(port: int, messages: list[bytes], rate: float) -> None:
    """Send message i at start + i/rate, over SESSIONS persistent sessions."""
    start = time.monotonic() + 0.2

    def worker(k: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            for i in range(k, len(messages), SESSIONS):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                client.sendmail("bench@example.org", ["contrib@consult.example.org"], messages[i])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def aware(moment: datetime | str) -> datetime:
    """SQLite hands back text, PostgreSQL an aware datetime; both stored in UTC."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def acks(engine: Any, tag: str) -> list[tuple[datetime, datetime]]:
    """(received_at, ack created_at) of every acknowledged contribution of this phase."""
    query = text(
        "SELECT c.received_at, o.created_at FROM outbox_message o "
        "JOIN contribution c ON c.id = o.contribution_id "
        "WHERE o.kind = 'ack' AND c.message_id LIKE :tag"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"tag": f"{tag}-%"}).all()
    return [(aware(r), aware(a)) for r, a in rows]


def ack_count(engine: Any, tag: str) -> int:
    query = text(
        "SELECT count(*) FROM outbox_message o JOIN contribution c ON c.id = o.contribution_id"
        " WHERE o.kind = 'ack' AND c.message_id LIKE :tag"
    )
    with engine.connect() as conn:
        return int(conn.execute(query, {"tag": f"{tag}-%"}).scalar_one())


def wait_acks(engine: Any, tag: str, count: int, timeout: float) -> list[tuple[datetime, datetime]]:
    """Poll a COUNT (cheap: the bench shares the 2 cores with the bot it measures), then read
    the rows once."""
    deadline = time.monotonic() + timeout
    while ack_count(engine, tag) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return acks(engine, tag)


def bare_rate(messages: list[bytes]) -> float:
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE, str(port)])
    try:
        wait_port(port)
        drive(port, messages[:200], SESSIONS)  # warm-up
        return drive(port, messages, SESSIONS)
    finally:
        bare.terminate()
        bare.wait()


def database(work: Path, postgresql: bool) -> tuple[str, Any]:
    if not postgresql:
        return f"sqlite:///{work / 'mailbot.sqlite3'}", lambda: None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{PG_URL}?options=-csearch_path%3D{schema}", drop


def start_bot(work: Path, url: str, code: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "MAILBOT_CONFIG": str(code / "config" / "mailbot.toml"),  # its own settings
        "MAILBOT_DATABASE_URL": url,
        "MAILBOT_DATA_DIR": str(work / "var"),
        "MAILBOT_LISTEN": f"127.0.0.1:{port}",
        "MAILBOT_LIMITS__GLOBAL_PER_WINDOW": "0",  # distinct senders; the brake only delays
    }
    env.pop("MAILBOT_RELAY", None)  # answers go to the outbox maildir
    log = (work / "mailbot.log").open("ab")
    bot = subprocess.Popen(
        [sys.executable, "-m", "mailbot.cli", "run"], cwd=code, env=env, stdout=log, stderr=log
    )
    wait_port(port, timeout=90)
    return bot, port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_process(bot: int, work: Path) -> dict[str, float]:
    """CPU seconds of the bot's process and of its loops' children, named from the log."""
    named = {"listener+": bot}
    for line in (work / "mailbot.log").read_text(errors="replace").splitlines():
        if match := re.search(r"(\w+) process (\d+) started", line):
            named[match.group(1)] = int(match.group(2))  # the newest, after a restart
    return {name: cpu_seconds(pid) for name, pid in named.items()}


def phases(rows: list[tuple[datetime, datetime]]) -> str:
    """Acknowledgements per second while mail was still arriving, and after the last one."""
    first, last = min(r for r, _ in rows), max(r for r, _ in rows)
    end = max(a for _, a in rows)
    during = sum(1 for _, a in rows if a <= last)
    arriving, after = (last - first).total_seconds(), (end - last).total_seconds()
    return (
        f"acknowledged while mail arrived ({arriving:.1f} s): {during / max(arriving, 1e-3):.0f}/s;"
        f" after ({after:.1f} s): {(len(rows) - during) / max(after, 1e-3):.0f}/s"
    )


def percentiles(rows: list[tuple[datetime, datetime]]) -> str:
    waits = sorted((a - r).total_seconds() for r, a in rows)
    if not waits:
        return "no acknowledgements"
    p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
    return (
        f"p50 {statistics.median(waits):6.2f} s   p99 {p99:6.2f} s   max {waits[-1]:6.2f} s"
        f"   ({len(waits)} acks)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rates", default="50,100")
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--code", type=Path, default=ROOT, help="mailbot checkout to run")
    parser.add_argument("--distinct", action="store_true", help="no two texts alike")
    args = parser.parse_args()
    global DISTINCT
    DISTINCT = args.distinct

    burst = [contribution("burst", n) for n in range(args.messages)]
    bare = bare_rate(burst)
    with tempfile.TemporaryDirectory(prefix="mailbot-bench-") as tmp:
        work = Path(tmp)
        url, drop = database(work, args.postgresql)
        bot, port = start_bot(work, url, args.code.resolve())
        engine = create_engine(url)
        try:
            drive(port, [contribution("warm", n) for n in range(100)], SESSIONS)
            wait_acks(engine, "warm", 100, 120)
            cpu = cpu_by_process(bot.pid, work)
            started, client_cpu = time.perf_counter(), time.process_time()
            intake = drive(port, burst, SESSIONS)
            rows = wait_acks(engine, "burst", args.messages, 600)
            elapsed = time.perf_counter() - started
            time.sleep(1.0)  # the sender finishes writing the burst's receipts
            spent = {k: v - cpu.get(k, 0.0) for k, v in cpu_by_process(bot.pid, work).items()}
            # This machine's speed drifts by a third within minutes: the baseline is the mean
            # of a bare run before the burst and one after it.
            bare_after = bare_rate(burst)
            texts = "distinct" if DISTINCT else "one letter"
            print(
                f"database: {'PostgreSQL' if args.postgresql else 'SQLite'}; code: {args.code};"
                f" texts: {texts}"
            )
            print(
                f"burst: {args.messages} contributions, {SESSIONS} sessions: "
                f"{len(rows) / elapsed:7.0f} acknowledged/s end to end"
            )
            ratio = 2 * intake / (bare + bare_after)
            print(f"  SMTP intake {intake:7.0f} msg/s, bare aiosmtpd {bare:7.0f} before and"
                  f" {bare_after:7.0f} after, ratio {ratio:.2f}")  # fmt: skip
            print(f"  {phases(rows)}")
            spent["bench's SMTP clients"] = time.process_time() - client_cpu
            per = ", ".join(f"{k} {v * 1000 / args.messages:.1f}" for k, v in spent.items())
            print(f"  CPU ms per message (the listener+ process runs the services too): {per}")
            for rate in (float(r) for r in args.rates.split(",") if r):  # "": burst only
                tag = f"steady{int(rate)}"
                count = int(rate * args.seconds)
                paced(port, [contribution(tag, n) for n in range(count)], rate)
                rows = wait_acks(engine, tag, count, 600)
                print(f"steady {rate:5.0f} msg/s for {args.seconds:.0f} s: {percentiles(rows)}")
        finally:
            bot.terminate()
            bot.wait(60)
            engine.dispose()
            drop()


if __name__ == "__main__":
    main()
