"""Act: one handler per verdict kind (`Road.handlers`); each runs inside the message's transaction.

A handler files what the message means (a contribution, a command's results, a bounce...)
and queues any answer in the outbox. It returns an Outcome the entrances report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from mailbot.app import App
from mailbot.classify import Verdict
from mailbot.models import RawMessage
from mailbot.parse import ParsedMail


@dataclass(frozen=True)
class Outcome:
    raw_id: int
    message_id: str | None
    outcome: str  # contribution | held | command | bounce | autoreply | loop | duplicate | ...
    reason: str
    ref: str | None = None
    topic: str | None = None


# handler(*, app, session, raw, mail, verdict) -> Outcome
Handler = Callable[..., Outcome]


def act(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, verdict: Verdict
) -> Outcome:
    fn = dict(app.road.handlers).get(verdict.kind, record_only)
    return fn(app=app, session=session, raw=raw, mail=mail, verdict=verdict)


def record_only(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, verdict: Verdict
) -> Outcome:
    """Kept, never answered: loops, auto-replies and anything without a handler."""
    assert raw.id is not None
    return Outcome(raw.id, mail.message_id, verdict.kind, verdict.reason)
