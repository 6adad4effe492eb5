"""Helpers for the commands tests: settings with a moderation policy, the road, replies."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mailbot.act import Outcome
from mailbot.app import App
from mailbot.boot import make_app
from mailbot.clock import FrozenClock
from mailbot.config import Moderation, Settings
from mailbot.models import Contribution, OutboxMessage
from mailbot.moderation.models import ModerationDecision
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from tests.support import make_settings

CHAIR = "chair@caucus.example.org"
SECRETARIAT = "secretariat@caucus.example.org"
COMMANDS = "contrib-request@consult.example.org"
CONTRIB = "contrib@consult.example.org"


def moderated_settings(database_url: str, data_dir: Path, **moderation: Any) -> Settings:
    settings = make_settings(database_url, data_dir, **moderation.pop("server", {}))
    return settings.model_copy(
        update={"moderation": Moderation(**{"policy": "hold-first-time", **moderation})}
    )


def moderated_app(database_url: str, tmp_path: Path, clock: FrozenClock, **moderation: Any) -> App:
    return make_app(moderated_settings(database_url, tmp_path / "var", **moderation), clock=clock)


_counter = iter(range(1, 10**6))


def mail(
    *,
    sender: str,
    to: str = CONTRIB,
    subject: str = "Idea",
    body: str,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> bytes:
    n = next(_counter)
    head = {
        "From": sender,
        "To": to,
        "Subject": subject,
        "Message-ID": message_id or f"<t{n}@{sender.split('@')[1]}>",
        **(headers or {}),
    }
    text = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    return (
        text
        + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        + body.replace("\r\n", "\n").replace("\n", "\r\n")
        + "\r\n"
    ).encode()


def ingest(app: App, raw: bytes) -> Outcome:
    (stored,) = store_raw_batch(app=app, items=[RawIn(raw=raw, source="ingest")])
    outcomes = process_pending(app=app)
    return next(o for o in outcomes if o.raw_id == stored.raw_id)


def contribute(app: App, sender: str = "ann@example.org", text: str = "") -> Outcome:
    return ingest(
        app,
        mail(
            sender=sender, body=text or "We think the working group should be open to all regions."
        ),
    )


def outbox(app: App, kind: str | None = None) -> list[EmailMessage]:
    with Session(app.engine) as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)  # type: ignore[arg-type]
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return [parse_out(r.raw) for r in s.exec(query)]


def parse_out(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def status(app: App, ref: str) -> str:
    with Session(app.engine) as s:
        return s.exec(select(Contribution.status).where(Contribution.ref == ref)).one()


def decisions(app: App) -> list[ModerationDecision]:
    with Session(app.engine) as s:
        return list(s.exec(select(ModerationDecision).order_by(ModerationDecision.id)))  # type: ignore[arg-type]


def quoting_reply(
    original: EmailMessage,
    *,
    sender: str,
    top: str,
    to: str = COMMANDS,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A reply as a mail client builds it: new text on top, the original quoted below."""
    body = original.get_content()
    quoted = "\n".join(f"> {line}" if line else ">" for line in body.splitlines())
    text = f"{top}\n\nOn Fri, Nov 20, 2026 at 1:00 PM, {original['From']} wrote:\n{quoted}\n"
    return mail(
        sender=sender,
        to=to,
        subject=f"Re: {original['Subject']}",
        body=text,
        headers={
            "In-Reply-To": original["Message-ID"],
            "References": original["Message-ID"],
            **(headers or {}),
        },
    )


def token_for(notice: EmailMessage, action: str) -> str:
    for line in notice.get_content().splitlines():
        if line.startswith(action.upper() + " ") and "mbt." in line:
            return next(w for w in line.split() if w.startswith("mbt."))
    raise AssertionError(f"no {action} token in the notice")
