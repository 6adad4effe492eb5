"""Deadlines: when the consultation and each topic close (with moderators' extensions), and
the late policy applied as the filing step `deadline` (order 20)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from mailbot.app import App
from mailbot.clock import utc
from mailbot.contributions import DEADLINE_PROVIDERS, Filing, filing_step, queue_reply
from mailbot.models import Contribution

log = logging.getLogger(__name__)


def consultation_deadline(*, app: App, session: Session) -> datetime:
    """The consultation's close in force: the moderation area's `effective_deadline` (config,
    unless a moderator's EXTEND or CLOSE moved it), or the config alone without that area."""
    try:
        from mailbot.moderation.deadline import effective_deadline as moderated
    except ImportError:
        return app.consultation.closes_at
    return moderated(session=session, consultation=app.consultation)


def effective_deadline(*, app: App, session: Session, topic: str | None = None) -> datetime:
    """The consultation's close (config, or the newest override), or a topic's own earlier
    close when the topic has one. Always aware, in the consultation's timezone."""
    c = app.consultation
    closes = consultation_deadline(app=app, session=session).astimezone(c.tz)
    settings_topic = c.topic(topic) if topic else None
    if settings_topic is not None and settings_topic.closes is not None:
        return min(c.aware(settings_topic.closes), closes).astimezone(c.tz)
    return closes


DEADLINE_PROVIDERS.append(effective_deadline)  # acknowledgements show this deadline


@filing_step("deadline", order=20)
def apply_deadline(*, app: App, session: Session, filing: Filing) -> None:
    """Late = received (stored durably) after the topic's effective deadline."""
    contribution = filing.contribution
    deadline = effective_deadline(app=app, session=session, topic=contribution.topic)
    contribution.late = utc(contribution.received_at) > deadline
    if not contribution.late:
        return
    if app.settings.calendar.late_policy == "accept":
        filing.notes.append(f"late: after {deadline.isoformat()}")
        return
    contribution.status = "refused"
    filing.acknowledge = False
    filing.outcome = "refused"
    filing.notes.append(f"refused: after {deadline.isoformat()}")
    queue_late_refusal(
        app=app,
        session=session,
        contribution=contribution,
        to=filing.mail.from_addr,
        deadline=deadline,
    )


def queue_late_refusal(
    *, app: App, session: Session, contribution: Contribution, to: str, deadline: datetime
) -> None:
    queue_reply(
        app=app,
        session=session,
        contribution=contribution,
        to=to,
        template="late-refused.txt",
        kind="notice",
        dedupe_key=f"late-refused:{contribution.ref}",
        context={"deadline": deadline.astimezone(app.consultation.tz)},
    )
