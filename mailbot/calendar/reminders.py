"""Reminders to the caucus list at configured offsets before the deadline (job `reminders`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from mailbot.addresses import topic_address
from mailbot.answer import answer
from mailbot.app import App
from mailbot.calendar.periods import Occurrence, due_reminder, reminder_occurrences, time_left
from mailbot.calendar.registry import record_sent, sent_records
from mailbot.deadline import deadline_in_force
from mailbot.models import Contribution
from mailbot.topics import topic_title


def topic_counts(
    *, app: App, session: Session, statuses: tuple[str, ...] = ("published",)
) -> dict[str, int]:
    c = app.consultation
    rows = session.exec(
        select(Contribution.topic, func.count())
        .where(Contribution.consultation_id == c.id, Contribution.status.in_(statuses))  # type: ignore[attr-defined]
        .group_by(Contribution.topic)
    ).all()
    counts = {t.slug: 0 for t in c.topics}
    counts.update({topic: int(n) for topic, n in rows})
    return counts


def reminder_context(*, app: App, session: Session, now: datetime, lang: str) -> dict[str, Any]:
    c = app.consultation
    deadline = deadline_in_force(app=app, session=session)
    counts = topic_counts(app=app, session=session)
    topics = []
    for t in c.topics:
        own = deadline_in_force(app=app, session=session, topic=t.slug)
        topics.append(
            {
                "slug": t.slug,
                "title": topic_title(c, t.slug, lang),
                "count": counts.get(t.slug, 0),
                "address": topic_address(app.settings, t.slug),
                "closes": own if own != deadline else None,
            }
        )
    days, hours, minutes = time_left(now, deadline)
    return {
        "deadline": deadline,
        "deadline_utc": deadline.astimezone(UTC),
        "days": days,
        "hours": hours,
        "minutes": minutes,
        "topics": topics,
        "total": sum(counts.values()),
        "lang": lang,
    }


def queue_reminder(*, app: App, session: Session, now: datetime, occurrence: Occurrence) -> int:
    c = app.consultation
    lang = c.default_language
    row = answer(
        app=app,
        session=session,
        to=[c.list_address],
        template="reminder.txt",
        lang=lang,
        context=reminder_context(app=app, session=session, now=now, lang=lang),
        kind="reminder",
        dedupe_key=f"reminder:{c.id}:{occurrence.key}",
        auto_submitted="auto-generated",
        now=now,
    )
    return 1 if row is not None else 0


def reminder_times(*, app: App, session: Session) -> list[datetime]:
    deadline = deadline_in_force(app=app, session=session)
    return [
        o.due_at for o in reminder_occurrences(deadline, app.settings.calendar.reminder_offsets)
    ]


def send_due_reminder(
    *, app: App, session: Session, now: datetime, armed_at: datetime
) -> str | None:
    c = app.consultation
    sent = {r.period for r in sent_records(session=session, consultation_id=c.id, kind="reminder")}
    occurrence = due_reminder(
        now=now,
        deadline=deadline_in_force(app=app, session=session),
        offsets=app.settings.calendar.reminder_offsets,
        sent=sent,
        armed_at=armed_at,
    )
    if occurrence is None:
        return None
    queued = queue_reminder(app=app, session=session, now=now, occurrence=occurrence)
    record_sent(
        app=app,
        session=session,
        kind="reminder",
        period=occurrence.key,
        due_at=occurrence.due_at,
        messages=queued,
    )
    return f"reminder {occurrence.key} queued"
