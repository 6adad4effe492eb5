"""Item 7: limits at the SMTP edge. DATA memory stays bounded whatever the line structure;
connections are capped per IP and in total; a session has an absolute time limit."""

from __future__ import annotations

import smtplib
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

import mailbot.smtp
from mailbot.clock import FrozenClock
from mailbot.edge import EdgeLimits
from mailbot.models import RawMessage
from tests.commands.commands_support import CONTRIB
from tests.security.security_support import send, start_bot
from tests.support import CaptureRelay, wait_for


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def empty_lines(size: int) -> bytes:
    head = (
        b"From: eve@evil.example\r\nTo: contrib@consult.example.org\r\nSubject: air\r\n"
        b"Message-ID: <air@evil.example>\r\n\r\n"
    )
    return head + b"\r\n" * ((size - len(head)) // 2)


@pytest.fixture
def bot(
    tmp_path: Path,
    database_url: str,
    relay: CaptureRelay,
    bot_factory: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Any:
    # 2 s, so that the trickling session is cut quickly; sending 24 MB on a loaded machine
    # may take longer than that, and that test is about memory, not time.
    seconds = 60.0 if "memory" in request.node.name else 2.0
    limits = EdgeLimits(max_connections=6, max_per_ip=3, session_seconds=seconds)
    monkeypatch.setattr(mailbot.smtp, "edge_limits", lambda: limits)
    _, listener = start_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
        policy="post",
    )
    return listener


def stored_row(bot: Any, message_id: str) -> RawMessage:
    """The stored message (on SQLite the 250 may come while it is in the listener's spool)."""

    def row() -> RawMessage | None:
        with Session(bot.app.engine) as s:
            query = select(RawMessage).where(RawMessage.message_id == message_id)
            return s.exec(query).one_or_none()

    assert wait_for(lambda: row() is not None, timeout=30)
    stored = row()
    assert stored is not None
    return stored


def test_item7_empty_lines_message_keeps_memory_bounded(bot: Any) -> None:
    raw = empty_lines(24 * 1024 * 1024)
    before = peak_rss_mb()
    assert send(bot.port, raw, CONTRIB).startswith("250")
    # aiosmtpd kept one bytearray per line: 2.1 GB for this message. One buffer now.
    assert peak_rss_mb() - before < 400
    stored = stored_row(bot, "air@evil.example")
    assert stored.size == len(raw) and stored.raw == raw


def test_item7_dot_stuffing_and_a_lone_dot_survive_the_bounded_reader(bot: Any) -> None:
    body = ".starts with a dot\r\n..two dots\r\n.\r\nnot the end\r\n"
    raw = (
        "From: ann@example.org\r\nTo: contrib@consult.example.org\r\nSubject: dots\r\n"
        f"Message-ID: <dots@example.org>\r\n\r\n{body}"
    ).encode()
    assert send(bot.port, raw, CONTRIB).startswith("250")
    assert stored_row(bot, "dots@example.org").raw == raw


def test_item7_connections_are_capped_per_ip(bot: Any) -> None:
    held = [smtplib.SMTP("127.0.0.1", bot.port, timeout=10) for _ in range(3)]
    try:
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", bot.port, timeout=10)
        assert refused.value.smtp_code == 421
    finally:
        for client in held:
            client.close()
    time.sleep(0.2)  # the server sees the closes
    with smtplib.SMTP("127.0.0.1", bot.port, timeout=10) as client:
        assert client.noop()[0] == 250


def test_item7_a_trickling_session_is_closed_at_the_time_limit(bot: Any) -> None:
    with socket.create_connection(("127.0.0.1", bot.port), timeout=10) as sock:
        assert sock.recv(1024).startswith(b"220")
        started = time.monotonic()
        answer = b""
        while time.monotonic() - started < 8:
            try:
                sock.sendall(b"N")  # one byte at a time never lets aiosmtpd's timeout fire
                sock.settimeout(0.3)
                chunk = sock.recv(1024)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        assert b"421" in answer
        assert time.monotonic() - started < 6
