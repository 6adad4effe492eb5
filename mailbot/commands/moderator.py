"""Moderator commands: APPROVE, REJECT, DEFER, REFILE, EXTEND, CLOSE, DIGEST NOW, STATS.

Each runs only after `execute_moderator` has authenticated the sender (a configured moderator
with a token bound to the action and item, or aligned DKIM from a trusted server); every
outcome, refusals included, goes to the decision log.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from sqlalchemy import func
from sqlmodel import select

from mailbot.calendar.digest_mail import send_digest_now
from mailbot.commands.registry import (
    Command,
    Context,
    Result,
    Usage,
    command,
    ref_item,
)
from mailbot.contributions import get_contribution, queue_ack, queue_reply
from mailbot.deadline import deadline_in_force
from mailbot.models import Contribution, Participant, RawMessage
from mailbot.moderation import tokens
from mailbot.moderation.auth import authenticate, is_moderator
from mailbot.moderation.deadline import set_deadline
from mailbot.moderation.log import record
from mailbot.moderation.models import ModerationToken
from mailbot.moderation.policy import queue_alert
from mailbot.privacy.waiting import awaiting_consent, confidential_count
from mailbot.topics import fold, topic_names

MODERATOR: Final = "moderator"


def execute_moderator(
    ctx: Context, cmd: Command, args: tuple[str, ...], *, explicit: tuple[str, ...], line: str
) -> Result:
    """Authenticate, run, and log one moderator command."""
    assert cmd.item_of is not None
    item = cmd.item_of(ctx, args)  # raises Usage
    proof = authenticate(
        session=ctx.session,
        settings=ctx.app.settings,
        now=ctx.now,
        mail=ctx.mail,
        raw=ctx.raw.raw,
        raw_id=ctx.raw.id,
        action=cmd.name,
        item=item,
        explicit=explicit,
        found=ctx.tokens,
        dkim=ctx.extra.get("dkim"),
    )
    if not proof.ok:
        record(
            session=ctx.session,
            now=ctx.now,
            actor=ctx.sender or "?",
            action=cmd.name,
            item=item,
            outcome="refused",
            reason=proof.reason,
            raw_id=ctx.raw.id,
            message_id=ctx.mail.message_id,
            details={"line": line},
        )
        queue_alert(
            app=ctx.app,
            session=ctx.session,
            sender=ctx.sender or "?",
            line=line,
            reason=proof.reason,
            message_id=ctx.mail.message_id,
        )
        confirm = ""
        if is_moderator(ctx.app.settings, ctx.sender):
            # Only whoever reads the moderator's own mailbox can use this: a forger cannot.
            confirm = "CONFIRM " + tokens.issue(
                session=ctx.session,
                settings=ctx.app.settings,
                now=ctx.now,
                action=cmd.name,
                item=item,
                issued_to=ctx.sender,
                args=args,
            )
        return Result("refused", "auth.refused", {"reason": proof.reason, "confirm": confirm})
    ctx.proof = proof.proof
    result = cmd.process(ctx, args)
    record(
        session=ctx.session,
        now=ctx.now,
        actor=ctx.sender,
        action=cmd.name,
        item=item,
        outcome=result.status,
        reason=" ".join([result.code, *map(str, args[1:])]).strip(),
        proof=proof.proof,
        raw_id=ctx.raw.id,
        message_id=ctx.mail.message_id,
        details={"line": line},
    )
    return result


def run_confirmed(ctx: Context, row: ModerationToken, token: str) -> Result:
    """CONFIRM <token> for a moderator action: replay the command the token was issued for."""
    cmd = ctx.app.road.commands.get(row.action)
    if cmd is None or cmd.who != MODERATOR:
        return Result("refused", "confirm.bad", {"reason": f"token {row.id} confirms nothing"})
    args = tuple(row.args) or (row.item,)
    try:
        return execute_moderator(
            ctx, cmd, args, explicit=(token,), line=f"CONFIRM {row.id} ({row.action} {row.item})"
        )
    except Usage:
        return Result("failed", "usage", {"usage": cmd.usage})


def _contribution(ctx: Context, args: tuple[str, ...]) -> Contribution | Result:
    ref = ref_item(ctx, args)
    found = get_contribution(session=ctx.session, ref=ref)
    if found is None:
        return Result("failed", "unknown-ref", {"ref": ref})
    if found.status == "withdrawn":
        return Result("failed", "moderate.withdrawn", {"ref": ref})
    return found


def _author(ctx: Context, c: Contribution) -> str:
    author = ctx.session.get(Participant, c.participant_id)
    return author.email if author else ""


@command(
    "approve",
    args=r"{ref}",
    keywords=("APPROUVER", "APROBAR", "ACCEPT", "ACCEPTER", "ACEPTAR"),
    usage="APPROVE ref",
    help="Publish a held contribution (the author is acknowledged).",
    who=MODERATOR,
    item_of=ref_item,
)
def do_approve(ctx: Context, args: tuple[str, ...]) -> Result:
    c = _contribution(ctx, args)
    if isinstance(c, Result):
        return c
    if c.status == "published":
        return Result("done", "approve.already", {"ref": c.ref})
    c.status = "published"
    ctx.session.add(c)
    queue_ack(app=ctx.app, session=ctx.session, contribution=c, to=_author(ctx, c))
    return Result("done", "approve.done", {"ref": c.ref})


@command(
    "reject",
    args=r"{ref}( .*)?",
    keywords=("REJETER", "REFUSER", "RECHAZAR"),
    usage="REJECT ref [reason]",
    help="Reject a contribution; the author gets the reason.",
    who=MODERATOR,
    item_of=ref_item,
)
def do_reject(ctx: Context, args: tuple[str, ...]) -> Result:
    c = _contribution(ctx, args)
    if isinstance(c, Result):
        return c
    if c.status == "rejected":
        return Result("done", "reject.already", {"ref": c.ref})
    reason = " ".join(args[1:]).strip()
    c.status = "rejected"
    ctx.session.add(c)
    queue_reply(
        app=ctx.app,
        session=ctx.session,
        contribution=c,
        to=_author(ctx, c),
        template="rejection.txt",
        kind="rejection",
        dedupe_key=f"reject:{c.ref}",
        context={"reason": reason},
    )
    return Result("done", "reject.done", {"ref": c.ref, "reason": reason})


@command(
    "defer",
    args=r"{ref}",
    keywords=("REPORTER", "DIFERIR", "APLAZAR", "HOLD"),
    usage="DEFER ref",
    help="Keep a contribution unpublished, to decide later.",
    who=MODERATOR,
    item_of=ref_item,
)
def do_defer(ctx: Context, args: tuple[str, ...]) -> Result:
    c = _contribution(ctx, args)
    if isinstance(c, Result):
        return c
    c.status = "deferred"
    ctx.session.add(c)
    return Result("done", "defer.done", {"ref": c.ref})


@command(
    "refile",
    args=r"{ref} \S+",
    keywords=("RECLASSER", "RECLASIFICAR", "MOVE"),
    usage="REFILE ref topic",
    help="File a contribution under another topic.",
    who=MODERATOR,
    item_of=ref_item,
)
def do_refile(ctx: Context, args: tuple[str, ...]) -> Result:
    c = _contribution(ctx, args)
    if isinstance(c, Result):
        return c
    names = topic_names(ctx.app.consultation)
    if len(args) < 2 or fold(args[1]) not in names:
        return Result(
            "failed",
            "refile.unknown-topic",
            {
                "topic": args[1] if len(args) > 1 else "",
                "topics": ", ".join(t.slug for t in ctx.app.consultation.topics),
            },
        )
    c.topic, c.topic_rule, c.needs_refile = names[fold(args[1])], "moderator", False
    ctx.session.add(c)
    return Result("done", "refile.done", {"ref": c.ref, "topic": c.topic})


def parse_deadline(ctx: Context, args: tuple[str, ...]) -> datetime | None:
    """2027-02-15, 2027-02-15T18:00, 2027-02-15 18:00 or 15/02/2027, in the local zone."""
    c = ctx.app.consultation
    text = " ".join(args[:2])
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(.*)", text.strip())
    if match:
        text = f"{match.group(3)}-{int(match.group(2)):02d}-{int(match.group(1)):02d}"
        text += match.group(4)
    for candidate in (text, args[0] if args else ""):
        try:
            moment = datetime.fromisoformat(candidate.strip().replace(" ", "T"))
        except ValueError:
            continue
        if len(candidate.strip()) == 10:  # a date: keep the configured closing time
            moment = datetime.combine(moment.date(), c.closes_at.timetz().replace(tzinfo=None))
        return c.aware(moment)
    return None


def deadline_item(ctx: Context, args: tuple[str, ...]) -> str:
    moment = parse_deadline(ctx, args)
    if moment is None:
        raise Usage("a date")
    return moment.strftime("%Y-%m-%dT%H:%M")


def consultation_item(ctx: Context, args: tuple[str, ...]) -> str:
    return ctx.app.consultation.id


@command(
    "extend",
    args=r"\d[\d/.-]+\S*( \d{1,2}:\d{2})?",
    keywords=("PROLONGER", "PRORROGAR", "AMPLIAR"),
    usage="EXTEND date",
    help="Move the deadline (YYYY-MM-DD [HH:MM], local time).",
    who=MODERATOR,
    item_of=deadline_item,
)
def do_extend(ctx: Context, args: tuple[str, ...]) -> Result:
    moment = parse_deadline(ctx, args)
    assert moment is not None
    if moment <= ctx.now:
        return Result("failed", "extend.past", {"date": f"{moment:%Y-%m-%d %H:%M %Z}"})
    set_deadline(
        session=ctx.session,
        consultation=ctx.app.consultation,
        closes_at=moment,
        by=ctx.sender,
        now=ctx.now,
        command="extend",
    )
    return Result("done", "extend.done", {"date": f"{moment:%Y-%m-%d %H:%M %Z}"})


@command(
    "close",
    keywords=("CLORE", "FERMER", "CERRAR"),
    usage="CLOSE",
    help="Close the consultation now.",
    who=MODERATOR,
    item_of=consultation_item,
)
def do_close(ctx: Context, args: tuple[str, ...]) -> Result:
    now = ctx.now.astimezone(ctx.app.consultation.tz)
    set_deadline(
        session=ctx.session,
        consultation=ctx.app.consultation,
        closes_at=now,
        by=ctx.sender,
        now=ctx.now,
        command="close",
    )
    return Result("done", "close.done", {"date": f"{now:%Y-%m-%d %H:%M %Z}"})


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
