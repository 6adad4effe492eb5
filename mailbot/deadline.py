"""The deadline in force, and "late": the one owner every other place asks.

The consultation closes at the config's `closes`, unless a moderator's EXTEND or CLOSE moved
it (the newest override wins); a topic with its own `closes` closes at the earlier of the two.
Acknowledgements, STATUS, reminders, digests and the late policy all read this function.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from mailbot.app import App
from mailbot.clock import utc
from mailbot.moderation.deadline import effective_deadline as consultation_close

CACHE_KEY = "mailbot.deadline"  # per transaction; `set_deadline` drops it


def deadline_in_force(*, app: App, session: Session, topic: str | None = None) -> datetime:
    """When `topic` (or, without one, the consultation) closes; aware, in the consultation's
    zone. Looked up once per transaction and kept in `session.info`."""
    cache: dict[str, datetime] = session.info.setdefault(CACHE_KEY, {})
    key = topic or ""
    if key not in cache:
        c = app.consultation
        closes = consultation_close(session=session, consultation=c).astimezone(c.tz)
        own = c.topic(topic) if topic else None
        if own is not None and own.closes is not None:
            closes = min(c.aware(own.closes), closes).astimezone(c.tz)
        cache[key] = closes
    return cache[key]


def is_late(*, app: App, session: Session, topic: str, received_at: datetime) -> bool:
    """Late = durably received after the deadline in force for its topic."""
    return utc(received_at) > deadline_in_force(app=app, session=session, topic=topic)
