"""Mail for the topic and thread store tests, walked down the real road (store + pipeline)."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlmodel import Session, select

from mailbot.act import Outcome
from mailbot.app import App
from mailbot.models import Contribution
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from mailbot.threads.models import Thread
from mailbot.threads.store import thread_rows

TO = "contrib@consult.example.org"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def mail(
    mid: str | None,
    subject: str,
    *,
    refs: tuple[str, ...] = (),
    irt: str | None = None,
    hours: float = 0,
    sender: str = "ana@example.org",
    to: str = TO,
    body: str = "A thought about the working group.\n",
    lang: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    if mid:
        msg["Message-ID"] = f"<{mid}>"
    msg["Date"] = format_datetime(T0 + timedelta(hours=hours))
    if irt:
        msg["In-Reply-To"] = f"<{irt}>"
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    if lang:
        msg["Content-Language"] = lang
    msg.set_content(body)
    return msg.as_bytes()


def deliver(app: App, *raws: bytes) -> list[Outcome]:
    """Store and process, one message at a time (each its own arrival)."""
    outcomes: list[Outcome] = []
    for raw in raws:
        store_raw_batch(app=app, items=[RawIn(raw=raw, source="ingest")])
        outcomes.extend(process_pending(app=app))
    return outcomes


def contributions(app: App) -> list[Contribution]:
    with Session(app.engine) as session:
        return list(session.exec(select(Contribution).order_by(Contribution.id)))  # type: ignore[arg-type]


def by_mid(app: App) -> dict[str | None, Contribution]:
    return {c.message_id: c for c in contributions(app)}


def threads(app: App) -> dict[int, Thread]:
    with Session(app.engine) as session:
        return {t.id: t for t in session.exec(select(Thread)) if t.id is not None}


def stored_grouping(app: App) -> tuple[set[frozenset[int]], dict[int, int | None]]:
    """Threads as sets of contribution ids, and each contribution's parent, as stored."""
    groups: dict[int | None, set[int]] = {}
    parents: dict[int, int | None] = {}
    for c in contributions(app):
        assert c.id is not None and c.thread_id is not None, c.ref
        groups.setdefault(c.thread_id, set()).add(c.id)
        parents[c.id] = c.parent_id
    return {frozenset(g) for g in groups.values()}, parents


def batch_grouping(app: App) -> tuple[set[frozenset[Hashable]], dict[Hashable, Hashable | None]]:
    """What one `thread()` run over every stored contribution gives."""
    result = thread_rows(contributions(app), app.settings.threads)
    return set(result.groups()), dict(result.parent)
