"""The late policy, applied as the filing step `deadline`: accept and mark late, or refuse.

When things close is `mailbot.deadline.deadline_in_force`, the one owner of that answer."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from mailbot.app import App
from mailbot.contributions import Filing, change, queue_reply
from mailbot.deadline import deadline_in_force, is_late
from mailbot.models import Contribution

log = logging.getLogger(__name__)


def apply_deadline(*, app: App, session: Session, filing: Filing) -> None:
    """Late = received (stored durably) after the topic's effective deadline."""
    contribution = filing.contribution
    deadline = deadline_in_force(app=app, session=session, topic=contribution.topic)
    late = is_late(
        app=app, session=session, topic=contribution.topic, received_at=contribution.received_at
    )
    change(contribution, late=late)
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
