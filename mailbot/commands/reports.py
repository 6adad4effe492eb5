"""Moderator commands that report or send: DIGEST NOW, STATS, BOUNCES (authenticated by
`execute_moderator` like every moderator command)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from mailbot.calendar.digest_mail import send_digest_now
from mailbot.commands.moderator import MODERATOR
from mailbot.commands.registry import Context, Result, Usage, command, consultation_item
from mailbot.deadline import deadline_in_force
from mailbot.models import Contribution, Participant, RawMessage
from mailbot.privacy.waiting import awaiting_consent, confidential_count
from mailbot.topics import fold


def digest_item(ctx: Context, args: tuple[str, ...]) -> str:
    if not args or fold(args[0]) not in ("now", "maintenant", "ahora"):
        raise Usage("NOW")
    return "NOW"


@command(
    "digest",
    args=r"(now|maintenant|ahora)",
    keywords=("RESUME", "RÉSUMÉ", "RESUMEN"),
    usage="DIGEST NOW",
    help="Send the digest now.",
    who=MODERATOR,
    item_of=digest_item,
)
def do_digest(ctx: Context, args: tuple[str, ...]) -> Result:
    sent = send_digest_now(app=ctx.app, session=ctx.session)
    return Result("done", "digest.sent" if sent else "digest.nothing", {"period": sent or ""})


@command(
    "stats",
    keywords=("STATISTIQUES", "ESTADISTICAS", "ESTADÍSTICAS", "STATISTICS"),
    usage="STATS",
    help="Counts by status and topic, and the held queue.",
    who=MODERATOR,
    item_of=consultation_item,
)
def do_stats(ctx: Context, args: tuple[str, ...]) -> Result:
    s = ctx.session
    cid = ctx.app.consultation.id
    by_status = dict(
        s.exec(
            select(Contribution.status, func.count())
            .where(Contribution.consultation_id == cid)
            .group_by(Contribution.status)
        ).all()
    )
    by_topic = dict(
        s.exec(
            select(Contribution.topic, func.count())
            .where(Contribution.consultation_id == cid)
            .group_by(Contribution.topic)
        ).all()
    )
    waiting = list(
        s.exec(
            select(Contribution.ref)
            .where(Contribution.consultation_id == cid)
            .where(Contribution.status.in_(("held", "deferred")))  # type: ignore[attr-defined]
            .order_by(Contribution.id)  # type: ignore[arg-type]
        )
    )
    people = s.exec(
        select(func.count(func.distinct(Contribution.participant_id))).where(
            Contribution.consultation_id == cid
        )
    ).one()
    subscribed = s.exec(
        select(func.count()).select_from(Participant).where(Participant.digest_subscribed)
    ).one()
    complaints = s.exec(
        select(func.count()).select_from(RawMessage).where(RawMessage.outcome == "complaint")
    ).one()
    deadline = deadline_in_force(app=ctx.app, session=s)
    lines = [f"{k}: {v}" for k, v in sorted(by_status.items())]
    lines += [f"[{k}] {v}" for k, v in sorted(by_topic.items())]
    by_language = s.exec(
        select(Contribution.language, func.count())
        .where(Contribution.consultation_id == cid)
        .group_by(Contribution.language)
    ).all()
    lines.append("languages: " + ", ".join(f"{k} {v}" for k, v in sorted(by_language)))
    lines += [
        f"participants: {people}",
        f"digest subscribers: {subscribed}",
        f"complaints (feedback reports): {complaints}",
        f"deadline: {deadline:%Y-%m-%d %H:%M %Z}",
        "waiting: " + (", ".join(waiting) or "-"),
        # Waiting for their author's publication choice (mailbot/privacy): counted and listed.
        "awaiting consent: " + (", ".join(awaiting_consent(session=s, consultation_id=cid)) or "-"),
        f"confidential: {confidential_count(session=s, consultation_id=cid)}",
    ]
    return Result("done", "stats", {"total": sum(by_status.values())}, block="\n".join(lines))


def bounces_item(ctx: Context, args: tuple[str, ...]) -> str:
    if len(args) < 2 or fold(args[0]) != "reset" or "@" not in args[1]:
        raise Usage("RESET address")
    return f"RESET {args[1].strip('<>').lower()}"


@command(
    "bounces",
    args=r"reset \S+@\S+",
    keywords=("REBONDS", "REBOTES"),
    usage="BOUNCES RESET address",
    help="Forget an address's bounces: it gets mail again.",
    who=MODERATOR,
    item_of=bounces_item,
)
def do_bounces(ctx: Context, args: tuple[str, ...]) -> Result:
    from mailbot.hostile.bounces import reset_score  # the hostile area owns bounce scores

    address = bounces_item(ctx, args).split(" ", 1)[1]
    if reset_score(session=ctx.session, address=address) is None:
        return Result("failed", "bounces.unknown", {"address": address})
    return Result("done", "bounces.reset", {"address": address})
