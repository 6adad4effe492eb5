"""The moderation policy as a filing step: post-moderation, hold first-time senders, hold all.

A held contribution gets its receipt at once, saying it waits (mailbot.conversation.held);
the author is told again on APPROVE (the acknowledgement) or REJECT; every
moderator gets a notice with the text, reference, topic and one single-use token per action.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from mailbot.addresses import command_address
from mailbot.answer import answer
from mailbot.app import App
from mailbot.contributions import Filing, local_time
from mailbot.models import Contribution
from mailbot.moderation import tokens
from mailbot.moderation.auth import is_moderator
from mailbot.moderation.log import record
from mailbot.participants import get_participant
from mailbot.topics import topic_title

NOTICE_ACTIONS = ("approve", "reject", "defer", "refile")
NOTICE_TEXT_LIMIT = 20_000


def marker(app: App) -> str:
    """Subject marker of moderator notices; a reply to one is always read as commands."""
    return f"[{app.consultation.ref_prefix}-mod]"


def should_hold(*, app: App, session: Session, contribution: Contribution, sender: str) -> bool:
    policy = app.settings.moderation.policy
    if policy == "hold-all":
        return True
    if policy != "hold-first-time" or is_moderator(app.settings, sender):
        return False
    earlier = session.exec(
        select(func.count())
        .select_from(Contribution)
        .where(Contribution.participant_id == contribution.participant_id)
        .where(Contribution.id != contribution.id)
        .where(Contribution.status == "published")
    ).one()
    return not earlier


def moderate(*, app: App, session: Session, filing: Filing) -> None:
    contribution = filing.contribution
    if contribution.status != "published" or not filing.acknowledge:
        return  # an earlier step already answered otherwise
    sender = filing.mail.from_addr
    if not should_hold(app=app, session=session, contribution=contribution, sender=sender):
        return
    policy = app.settings.moderation.policy
    contribution.status = "held"
    session.add(contribution)
    filing.outcome = "held"
    filing.acknowledge = False
    filing.notes.append(f"held for moderation ({policy})")
    record(
        session=session,
        now=app.clock.now(),
        actor="policy",
        action="hold",
        item=contribution.ref,
        outcome="done",
        reason=f"policy {policy}",
        raw_id=contribution.raw_id,
        message_id=contribution.message_id,
    )
    queue_notice(app=app, session=session, contribution=contribution, sender=sender)


def moderator_language(*, app: App, session: Session, moderator: str) -> str:
    found = get_participant(session=session, email=moderator)
    return (found.language if found else None) or app.consultation.default_language


def queue_notice(*, app: App, session: Session, contribution: Contribution, sender: str) -> None:
    """One notice per moderator, each with its own single-use tokens (one per action), bound
    to the moderator it was sent to: a forwarded notice proves nothing for anyone else."""
    c = app.consultation
    now = app.clock.now()
    for moderator in c.moderators:
        issued = {
            action: tokens.issue(
                session=session,
                settings=app.settings,
                now=now,
                action=action,
                item=contribution.ref,
                issued_to=moderator,
            )
            for action in NOTICE_ACTIONS
        }
        lang = moderator_language(app=app, session=session, moderator=moderator)
        context: dict[str, Any] = {
            "marker": marker(app),
            "ref": contribution.ref,
            "tokens": issued,
            "subject": contribution.subject,
            "sender": sender,
            "author_name": contribution.author_name or "",
            "topic_slug": contribution.topic,
            "topic_title": topic_title(c, contribution.topic, lang),
            "topics": [t.slug for t in c.topics],
            "received": local_time(app, contribution.received_at),
            "late": contribution.late,
            "text": contribution.text[:NOTICE_TEXT_LIMIT],
            "truncated": len(contribution.text) > NOTICE_TEXT_LIMIT,
            "attachments": contribution.attachments,
            "expires": local_time(
                app, now + timedelta(days=app.settings.moderation.token_ttl_days)
            ),
            "command_address": command_address(app.settings),
        }
        answer(
            app=app,
            session=session,
            to=[moderator],
            template="moderator_notice.txt",
            lang=lang,
            context=context,
            kind="notice",
            dedupe_key=f"notice:{contribution.ref}:{moderator}",
            reply_to=command_address(app.settings),
            contribution_id=contribution.id,
            now=now,
        )


def queue_alert(
    *, app: App, session: Session, sender: str, line: str, reason: str, message_id: str | None
) -> bool:
    """Tell the moderators about a refused command; at most one per sender per hour, and at
    most `[limits] alerts_per_hour` in all (the outbox guard counts them). Returns whether a
    notice was queued."""
    now = app.clock.now()
    c = app.consultation
    bucket = now.strftime("%Y%m%d%H")
    lang = c.default_language
    queued = answer(
        app=app,
        session=session,
        to=list(c.moderators),
        template="moderator_alert.txt",
        lang=lang,
        context={
            "marker": marker(app),
            "sender": sender,
            "line": line,
            "reason": reason,
            "message_id": message_id or "",
            "at": local_time(app, now),
        },
        kind="alert",
        dedupe_key=f"alert:{sender}:{bucket}",
        now=now,
    )
    return queued is not None
