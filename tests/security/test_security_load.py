"""The hostile-load test: the 1 MB nested-HTML message and a 24 MB message of empty lines
arrive while 100 ordinary contributions do, over SMTP to `mailbot run` in its own process.
Every contribution gets its 250 and its receipt; the bot's peak memory stays under 600 MB."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mailbot.config import PROJECT_DIR
from tests.support import TEST_SECRET, free_port, wait_for

PEAK_LIMIT_MB = 600
CONTRIB = "contrib@consult.example.org"


def contribution(n: int) -> bytes:
    return (
        f"From: Person {n} <p{n}@example.org>\r\nTo: {CONTRIB}\r\nSubject: Idea {n}\r\n"
        f"Message-ID: <load-{n}@example.org>\r\n\r\n"
        f"Contribution number {n}: publish the minutes of every meeting.\r\n"
    ).encode()


def nested_html(divs: int = 200_000) -> bytes:
    html = "<div>" * divs + "x" + "</div>" * divs
    return (
        f"From: eve@evil.example\r\nTo: {CONTRIB}\r\nSubject: deep\r\n"
        "Message-ID: <load-deep@evil.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + html[: 1024 * 1024] + "\r\n"
    ).encode()


def empty_lines(size: int = 24 * 1024 * 1024) -> bytes:
    head = (
        f"From: eve@evil.example\r\nTo: {CONTRIB}\r\nSubject: air\r\n"
        "Message-ID: <load-air@evil.example>\r\n\r\n"
    ).encode()
    return head + b"\r\n" * ((size - len(head)) // 2)


def send(port: int, raw: bytes, sender: str) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=300) as client:
        client.ehlo()
        client.mail(sender)
        client.rcpt(CONTRIB)
        code, _ = client.data(raw)
        return code


def peak_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0.0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1]) / 1024


def family(pid: int) -> list[int]:
    """The bot and its pipeline child (and theirs)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        path = Path(f"/proc/{p}/task/{p}/children")
        if path.exists():
            todo.extend(int(c) for c in path.read_text().split())
    return found


def hostile_done(database_url: str) -> bool:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            states = conn.execute(
                text("SELECT state FROM raw_message WHERE message_id LIKE 'load-%@evil.example'")
            ).all()
    finally:
        engine.dispose()
    return len(states) == 2 and all(s != "new" for (s,) in states)


@pytest.mark.slow
def test_hostile_load_100_contributions_beside_a_mime_bomb_and_24mb_of_air(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(tmp_path / "var"),
        "MAILBOT_LISTEN": f"127.0.0.1:{port}",
        "MAILBOT_SECRET": TEST_SECRET,
    }
    env.pop("MAILBOT_RELAY", None)
    bot = subprocess.Popen(
        [sys.executable, "-m", "mailbot.cli", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peaks: dict[int, float] = {}

    def watch() -> None:
        for pid in family(bot.pid):
            peaks[pid] = max(peaks.get(pid, 0.0), peak_mb(pid))

    try:

        def listening() -> bool:
            try:
                smtplib.SMTP("127.0.0.1", port, timeout=1).quit()
                return True
            except OSError:
                return False

        assert wait_for(listening, timeout=60), "mailbot run did not start"
        with ThreadPoolExecutor(max_workers=12) as pool:
            hostile = [
                pool.submit(send, port, nested_html(), "eve@evil.example"),
                pool.submit(send, port, empty_lines(), "eve@evil.example"),
            ]
            codes = list(
                pool.map(lambda n: send(port, contribution(n), f"p{n}@example.org"), range(100))
            )
            hostile_codes = [f.result() for f in hostile]
        watch()
        assert codes == [250] * 100
        assert hostile_codes == [250, 250]  # stored (within the size limit), not a crash
        maildir = tmp_path / "var" / "outbox-maildir" / "new"

        def receipts() -> set[str]:
            watch()
            if not maildir.exists():
                return set()
            found = set()
            for f in maildir.iterdir():
                head = f.read_bytes()[:2000]
                for n in range(100):
                    if (
                        f"<p{n}@example.org>".encode() in head
                        or f"To: p{n}@example.org".encode() in head
                    ):
                        found.add(f"p{n}")
            return found

        assert wait_for(lambda: len(receipts()) == 100, timeout=240, interval=1.0), len(receipts())
        # The two hostile messages are walked down the road too (peak memory counts them).
        assert wait_for(lambda: watch() or hostile_done(database_url), timeout=240, interval=1.0)
        watch()
        assert max(peaks.values()) < PEAK_LIMIT_MB, peaks
        print(f"peak RSS (MB) per process of the bot: {peaks}")
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(60)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait(10)
