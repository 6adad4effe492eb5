"""Helpers for the security regression tests: a moderated bot over the real listener."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.clock import FrozenClock
from mailbot.models import RawMessage
from tests.commands.commands_support import moderated_app, parse_out
from tests.support import BotThread, CaptureRelay


def start_bot(
    *,
    database_url: str,
    tmp_path: Path,
    clock: FrozenClock,
    relay: CaptureRelay,
    bot_factory: Any,
    **moderation: Any,
) -> tuple[App, BotThread]:
    server = {"relay": relay.url, **moderation.pop("server", {})}
    app = moderated_app(database_url, tmp_path, clock, server=server, **moderation)
    return app, bot_factory(app)


def send(port: int, raw: bytes, rcpt: str, mail_from: str = "sender@example.org") -> str:
    """Send as an attacker would: plain smtplib; returns the server's answer to DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.ehlo()
        client.mail(mail_from)
        code, _ = client.rcpt(rcpt)
        assert code == 250, code
        code, answer = client.data(raw)
        return f"{code} {answer.decode()}"


def received(relay: CaptureRelay, address: str, subject_part: str = "") -> list[EmailMessage]:
    return [
        parse_out(m.data)
        for m in relay.messages
        if address in m.rcpt_tos and subject_part in str(parse_out(m.data)["Subject"])
    ]


def raw_row(app: App, message_id: str) -> RawMessage | None:
    with Session(app.engine) as s:
        return s.exec(select(RawMessage).where(RawMessage.message_id == message_id)).first()
