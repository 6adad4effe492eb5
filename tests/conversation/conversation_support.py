"""A participant's side of the conversation: a running bot, a capture relay, and mail as
clients write it."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlmodel import Session, col, select

from mailbot.app import App
from mailbot.models import Contribution, OutboxMessage, RawMessage
from mailbot.spool import waiting
from tests.commands.commands_support import COMMANDS, CONTRIB, parse_out
from tests.support import BotThread, CaptureRelay, wait_for

CAUCUS = "caucus@lists.example.org"


@dataclass
class Conversation:
    app: App
    bot: BotThread
    relay: CaptureRelay

    def send(self, raw: bytes, *, rcpts: tuple[str, ...] = (CONTRIB,), mail_from: str = "") -> None:
        with smtplib.SMTP("127.0.0.1", self.bot.port, timeout=30) as client:
            client.sendmail(mail_from or "sender@example.org", list(rcpts), raw)
        assert wait_for(self.settled, timeout=60), "the bot did not settle"

    def settled(self) -> bool:
        # SQLite: a 250'd message may still be in the listener's spool, on its way in. Looked
        # at first: a spool found empty means the database has all it held.
        if waiting(self.app.settings.server.data_dir):
            return False
        now = self.app.clock.now()
        with Session(self.app.engine) as s:
            new = s.exec(select(RawMessage.id).where(RawMessage.state == "new")).first()
            due = s.exec(
                select(OutboxMessage.id)
                .where(col(OutboxMessage.status).in_(("pending", "sending")))
                .where(OutboxMessage.next_attempt_at <= now)
            ).first()
        return new is None and due is None

    def outcome(self, message_id: str) -> RawMessage:
        with Session(self.app.engine) as s:
            return s.exec(select(RawMessage).where(RawMessage.message_id == message_id)).one()

    def contribution(self, ref: str) -> Contribution:
        with Session(self.app.engine) as s:
            return s.exec(select(Contribution).where(Contribution.ref == ref)).one()

    def mails_to(self, address: str, subject: str = "") -> list[EmailMessage]:
        return [
            parse_out(m.data)
            for m in self.relay.messages
            if address in m.rcpt_tos and subject in str(parse_out(m.data)["Subject"])
        ]


def message(
    *,
    sender: str,
    mid: str,
    body: str,
    to: str = CONTRIB,
    subject: str = "Idea",
    headers: dict[str, Any] | None = None,
) -> bytes:
    head = {"From": sender, "To": to, "Subject": subject, "Message-ID": f"<{mid}>"}
    head |= headers or {}
    text = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    text += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    text += "Content-Transfer-Encoding: 8bit\r\n\r\n"
    return (text + body.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n").encode()


def reply_to(
    original: EmailMessage,
    *,
    sender: str,
    mid: str,
    top: str,
    attribution: str,
    to: str = CONTRIB,
    bottom: bool = False,
) -> bytes:
    """A reply as the client writes it: its attribution line, the original quoted with `>`,
    In-Reply-To and References pointing at the original."""
    quoted = "\n".join(f"> {ln}" if ln else ">" for ln in original.get_content().splitlines())
    body = f"{attribution}\n{quoted}\n\n{top}" if bottom else f"{top}\n\n{attribution}\n{quoted}"
    refs = " ".join(filter(None, [str(original.get("References") or ""), original["Message-ID"]]))
    return message(
        sender=sender,
        mid=mid,
        to=to,
        subject=f"Re: {original['Subject']}",
        body=body,
        headers={"In-Reply-To": original["Message-ID"], "References": refs},
    )


__all__ = ["CAUCUS", "COMMANDS", "CONTRIB", "Conversation", "message", "reply_to"]
