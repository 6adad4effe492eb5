"""Helpers for the calendar tests: an app with [calendar]/[consultation] overrides, mail in."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.boot import make_app
from mailbot.calendar.models import SentRecord
from mailbot.clock import FrozenClock
from mailbot.config import PROJECT_DIR, load_settings
from mailbot.models import OutboxMessage
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch


def calendar_app(database_url: str, data_dir: Path, clock: FrozenClock, **sections: Any) -> App:
    overrides: dict[str, Any] = {
        "server": {
            "database_url": database_url,
            "data_dir": str(data_dir),
            "listen": "127.0.0.1:0",
        },
        **sections,
    }
    settings = load_settings(
        PROJECT_DIR / "config" / "mailbot.toml", environ={}, overrides=overrides
    )
    return make_app(settings, clock=clock)


def contribute(
    app: App,
    clock: FrozenClock,
    at: datetime,
    *,
    sender: str,
    name: str,
    subject: str,
    text: str,
    lang: str,
    n: int,
) -> None:
    clock.set(at)
    msg = EmailMessage()
    msg["From"] = formataddr((name, sender)) if name else sender
    msg["To"] = "contrib@consult.example.org"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<cal-{n}@example.net>"
    msg.set_content(text)
    msg["Content-Language"] = lang
    raw = msg.as_bytes(policy=email.policy.SMTP)
    store_raw_batch(app=app, items=[RawIn(raw=raw, source="test")])
    process_pending(app=app)


def outbox(app: App, kind: str | None = None) -> list[OutboxMessage]:
    with Session(app.engine) as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)  # type: ignore[arg-type]
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list(s.exec(query))


def records(app: App, kind: str) -> list[SentRecord]:
    with Session(app.engine) as s:
        return list(
            s.exec(select(SentRecord).where(SentRecord.kind == kind).order_by(SentRecord.id))
        )  # type: ignore[arg-type]


def parsed(row: OutboxMessage) -> EmailMessage:
    msg = email.message_from_bytes(row.raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


# One contribution a week across the weeks a stopped bot misses (es, en, fr).
WEEKLY = (
    (
        datetime(2026, 11, 5, 10, 0, tzinfo=UTC),
        "ana@example.es",
        "Ana",
        "[metodos] Transparencia",
        "Publicar todo.",
        "es",
    ),
    (
        datetime(2026, 11, 10, 10, 0, tzinfo=UTC),
        "bo@example.org",
        "Bo",
        "[composition] Seats",
        "Seats for all.",
        "en",
    ),
    (
        datetime(2026, 11, 17, 10, 0, tzinfo=UTC),
        "cl@example.fr",
        "Claire",
        "[réunion] Ouverte",
        "Réunion ouverte.",
        "fr",
    ),
)


def contribute_weekly(app: App, clock: FrozenClock, *, count: int) -> None:
    for n, (at, sender, name, subject, text, lang) in enumerate(WEEKLY[:count], start=1):
        contribute(
            app, clock, at, sender=sender, name=name, subject=subject, text=text, lang=lang, n=n
        )
