"""Rate limits on everything mailbot answers: a few answers per recipient per window, then
exactly one "further replies suppressed" notice, then silence; and a global brake.

One guard among the road's outbox guards (`Road.guards`), so every answer passes it
whatever queued it; what it counts is read once per transaction (`mailbot.hostile.answered`):
- Limited per recipient: every kind sent to participants (ack, results, notice, ...).
- Not limited: kinds in `EXEMPT_KINDS` (the digest and deadline reminders a participant asked
  for, and the suppression notice itself) and anything addressed to a moderator.
- Owed: kinds in `OWED_KINDS` (the receipt of a stored contribution, a confirmation token,
  a rejection, a moderator's notice) are never suppressed: over the limit they are queued
  with a later first attempt (one window per `per_recipient` answers), visible in
  `mailbot outbox list`. Loops are broken where they start: classification keeps a robot's
  repeated text out of the contributions (mailbot.conversation.replies).
- Global brake: when more than `global_per_window` limited answers were queued in the last
  `brake_minutes` AND the mail refused or automatic-looking in that time (auto-replies,
  bounces, loops, complaints, quarantined) is at least `1/BACKSCATTER_SHARE` of it, new
  answers are still queued (nothing is lost) but their first attempt is pushed back. Many
  real people writing at a deadline do not brake anyone.
- Alerts to the moderators (kind "alert": a refused command) are capped in all at
  `alerts_per_hour`: a forger's flood must not become the moderators' flood.
- Nothing else limits answers: this guard is the one rate limiter (command results too).
- A participant whose bounce score reached `bounce_disable_score` gets nothing at all, until
  the score, halving every two weeks (`mailbot.hostile.bounces.decayed`), falls below it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, func, select

from mailbot.compose import build, render
from mailbot.config import Settings
from mailbot.hostile.answered import automatic_mail, log_answer, logged, recent_answers, sent_to
from mailbot.hostile.bounces import decayed
from mailbot.hostile.config import Limits
from mailbot.models import OutboxMessage
from mailbot.outbox import enqueue
from mailbot.participants import get_participant

log = logging.getLogger(__name__)

EXEMPT_KINDS = frozenset({"digest", "reminder", "suppressed"})
OWED_KINDS = frozenset({"ack", "held", "published", "confirm", "rejection", "notice"})
BACKSCATTER_SHARE = 4  # automatic-looking mail >= 1/4 of the answers: brake


def queue_suppressed_notice(
    *, session: Session, settings: Settings, now: datetime, recipient: str
) -> None:
    participant = get_participant(session=session, email=recipient)
    lang = (participant.language if participant else None) or settings.consultation.default_language
    limits = settings.limits
    subject, body = render(
        settings=settings,
        name="suppressed.txt",
        lang=lang,
        context={
            "limit": limits.per_recipient,
            "window_minutes": limits.window_minutes,
            "until": (now + timedelta(minutes=limits.window_minutes)).astimezone(
                settings.consultation.tz
            ),
        },
    )
    msg = build(settings=settings, now=now, to=[recipient], subject=subject, body=body, lang=lang)
    enqueue(
        session=session,
        settings=settings,
        guards=(),  # the notice is exempt: it is what the guard queues instead
        now=now,
        msg=msg,
        kind="suppressed",
        dedupe_key=f"suppressed:{recipient}:{now.isoformat()}",
    )
    log_answer(
        session,
        now=now,
        recipient=recipient,
        kind="suppressed",
        dedupe_key=f"suppressed:{recipient}",
        decision="notice",
    )


def _backscatter(session: Session, *, since: datetime, answers: int) -> bool:
    """Does the mail we refused or found automatic lately suggest we answer forged senders?"""
    return automatic_mail(session, since=since) * BACKSCATTER_SHARE >= answers


def _delay_owed(
    session: Session,
    *,
    limits: Limits,
    now: datetime,
    since: datetime,
    people: list[str],
    kind: str,
    dedupe_key: str,
) -> datetime:
    """An answer a person is owed, over the limit: queued, first attempt one window later
    per `per_recipient` answers already counted (a burst drains at the limit's pace)."""
    counted = max(sent_to(session, recipient=r, since=since) for r in people)
    windows = counted // max(limits.per_recipient, 1)
    later = now + timedelta(minutes=limits.window_minutes * windows)
    for r in people:
        log_answer(
            session, now=now, recipient=r, kind=kind, dedupe_key=dedupe_key, decision="delayed"
        )
    log.warning(
        "delayed %s (%s) to %s until %s: over the per-recipient limit",
        kind,
        dedupe_key,
        ", ".join(people),
        later.isoformat(),
    )
    return later


def _undeliverable(
    session: Session, *, limits: Limits, now: datetime, people: list[str], kind: str, key: str
) -> bool:
    """Someone whose mail bounces past the limit gets nothing more (logged) -- until the score
    has decayed below it: the stored score only shrinks with time, so it picks the candidates."""
    # The participants are in the transaction's cache already (filing looked them up).
    found = (get_participant(session=session, email=r) for r in people)
    candidates = [p for p in found if p and p.bounce_score >= limits.bounce_disable_score]
    dead = [
        p.email
        for p in candidates
        if decayed(session=session, participant=p, now=now) >= limits.bounce_disable_score
    ]
    if dead:
        log.warning(
            "not sending %s to %s: bounce score over %g",
            kind,
            ", ".join(dead),
            limits.bounce_disable_score,
        )
        for r in dead:
            log_answer(
                session,
                now=now,
                recipient=r,
                kind=kind,
                dedupe_key=key,
                decision="undeliverable",
            )
        return True
    return False


def _suppress(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    since: datetime,
    over: list[str],
    kind: str,
    key: str,
) -> None:
    """Command results over the per-recipient limit are dropped, with one notice each."""
    for r in over:
        log_answer(
            session,
            now=now,
            recipient=r,
            kind=kind,
            dedupe_key=key,
            decision="suppressed",
        )
        if not logged(session, since=since, decisions=("notice",), recipient=r):
            queue_suppressed_notice(session=session, settings=settings, now=now, recipient=r)
    log.warning(
        "suppressed %s (%s) to %s: over %d answers in %d min",
        kind,
        key,
        ", ".join(over),
        settings.limits.per_recipient,
        settings.limits.window_minutes,
    )


def _alerts_allowed(session: Session, *, limits: Limits, now: datetime, key: str) -> bool:
    # The outbox row of this alert is written before the guards run: not one of "recent".
    recent = session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == "alert")
        .where(OutboxMessage.created_at >= now - timedelta(hours=1))
        .where(OutboxMessage.dedupe_key != key)
    ).one()
    if recent >= limits.alerts_per_hour:
        log.warning("not alerting the moderators: %d alerts in the last hour", recent)
        return False
    return True


def reply_guard(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    kind: str,
    recipients: Sequence[str],
    dedupe_key: str,
) -> bool | datetime:
    """The outbox guard: True (queue), False (refuse) or a datetime (queue, send later)."""
    limits = settings.limits
    if kind == "alert":
        return _alerts_allowed(session, limits=limits, now=now, key=dedupe_key)
    moderators = set(settings.consultation.moderators)
    people = [r.lower() for r in recipients if r.lower() not in moderators]
    if not people:
        return True
    if _undeliverable(session, limits=limits, now=now, people=people, kind=kind, key=dedupe_key):
        return False
    if kind in EXEMPT_KINDS:
        return True
    since = now - timedelta(minutes=limits.window_minutes)
    if limits.per_recipient:
        over = [
            r for r in people if sent_to(session, recipient=r, since=since) >= limits.per_recipient
        ]
        if over and kind in OWED_KINDS:
            return _delay_owed(
                session,
                limits=limits,
                now=now,
                since=since,
                people=over,
                kind=kind,
                dedupe_key=dedupe_key,
            )
        if over:
            _suppress(
                session,
                settings=settings,
                now=now,
                since=since,
                over=over,
                kind=kind,
                key=dedupe_key,
            )
            return False
    decision = _global_brake(session, limits=limits, now=now, dedupe_key=dedupe_key)
    for r in people:
        log_answer(
            session,
            now=now,
            recipient=r,
            kind=kind,
            dedupe_key=dedupe_key,
            decision="braked" if isinstance(decision, datetime) else "queued",
        )
    return decision


def _global_brake(
    session: Session, *, limits: Limits, now: datetime, dedupe_key: str
) -> bool | datetime:
    """True, or the later first attempt when many answers meet much backscatter (the brake)."""
    if not limits.global_per_window:
        return True
    since = now - timedelta(minutes=limits.brake_minutes)
    recent = recent_answers(session, since=since)
    if recent < limits.global_per_window or not _backscatter(session, since=since, answers=recent):
        return True
    steps = recent // limits.global_per_window
    decision = now + timedelta(seconds=limits.brake_delay_seconds * steps)
    log.warning(
        "global brake: %d answers in %d min, %s waits until %s",
        recent,
        limits.brake_minutes,
        dedupe_key,
        decision.isoformat(),
    )
    return decision
