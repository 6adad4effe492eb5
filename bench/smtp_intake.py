"""Benchmark: SMTP intake rate of mailbot's listener against a bare aiosmtpd server.

5,000 messages of about 4 KB over 10 concurrent SMTP sessions (persistent connections),
first to a bare aiosmtpd server whose handler only answers 250, then to `mailbot run` on
SQLite (every 250 durable: committed with synchronous=FULL). Both servers run as separate
processes, the same client drives both; prints both rates and the ratio.

    .venv/bin/python bench/smtp_intake.py [--messages 5000] [--sessions 10]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/threading.py (the name the threading issue asks for) would shadow the standard
# library's `threading` when this folder heads sys.path, as it does for a script.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != _HERE]

import argparse  # noqa: E402
import os  # noqa: E402
import smtplib  # noqa: E402
import socket  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BARE = """
import asyncio, sys
from aiosmtpd.smtp import SMTP
class Ok:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
async def main():
    loop = asyncio.get_running_loop()
    factory = lambda: SMTP(Ok(), data_size_limit=None)
    server = await loop.create_server(factory, "127.0.0.1", int(sys.argv[1]))
    await asyncio.Event().wait()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def message(n: int) -> bytes:
    line = "Contribution text about the composition of the working group, line %04d.\r\n"
    body = "".join(line % i for i in range(52))  # ~4 KB
    return (
        f"From: Person {n} <p{n}@example.org>\r\nTo: contrib@consult.example.org\r\n"
        f"Subject: Contribution {n}\r\nMessage-ID: <bench-{n}-{time.time_ns()}@example.org>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on {port} did not start")


def drive(port: int, messages: list[bytes], sessions: int) -> float:
    """Send all messages over `sessions` persistent connections; return messages/second."""
    chunks = [messages[i::sessions] for i in range(sessions)]
    errors: list[str] = []

    def worker(chunk: list[bytes]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
                client.ehlo()
                for raw in chunk:
                    client.mail("bench@example.org")
                    client.rcpt("contrib@consult.example.org")
                    code, text = client.data(raw)
                    if code != 250:
                        errors.append(f"{code} {text!r}")
        except (OSError, smtplib.SMTPException) as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit(f"{len(errors)} refusals, first: {errors[0]}")
    return len(messages) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=10)
    args = parser.parse_args()

    port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE, str(port)])
    try:
        wait_port(port)
        drive(port, [message(n) for n in range(200)], args.sessions)  # warm-up
        bare_rate = drive(port, [message(n) for n in range(args.messages)], args.sessions)
    finally:
        bare.terminate()
        bare.wait()

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = dict(
            os.environ,
            MAILBOT_DATA_DIR=tmp,
            MAILBOT_LISTEN=f"127.0.0.1:{port}",
            MAILBOT_SECRET="bench-secret-0123456789abcdef0123456789abcdef",
        )
        env.pop("MAILBOT_DATABASE_URL", None)
        env.pop("MAILBOT_RELAY", None)
        bot = subprocess.Popen(
            [sys.executable, "-m", "mailbot.cli", "run"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_port(port)
            drive(port, [message(n) for n in range(200)], args.sessions)  # warm-up
            start = time.perf_counter()
            bot_rate = drive(port, [message(n) for n in range(args.messages)], args.sessions)
            db = sqlite3.connect(Path(tmp) / "mailbot.sqlite3", timeout=60)
            while db.execute("select count(*) from raw_message where state='new'").fetchone()[0]:
                time.sleep(0.2)
            processed = time.perf_counter() - start
            stored = db.execute("select count(*) from raw_message").fetchone()[0]
            acks = db.execute("select count(*) from outbox_message").fetchone()[0]
            db.close()
        finally:
            bot.terminate()
            bot.wait(60)

    total = args.messages + 200
    print(f"messages: {args.messages} of ~4 KB over {args.sessions} concurrent SMTP sessions")
    print(f"bare aiosmtpd (250 only):          {bare_rate:8.0f} msg/s")
    print(f"mailbot listener (durable 250):    {bot_rate:8.0f} msg/s")
    print(f"ratio mailbot / bare:              {bot_rate / bare_rate:8.2f}")
    print(
        f"all parsed, filed and acknowledged: {args.messages / processed:8.0f} msg/s "
        f"({stored}/{total} stored, {acks} acknowledgements queued)"
    )


if __name__ == "__main__":
    main()
