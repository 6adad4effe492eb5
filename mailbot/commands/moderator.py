"""Moderator decisions (APPROVE, REJECT, DEFER, REFILE) and `execute_moderator`, which every
moderator command (here, in deadlines.py, reports.py and the campaigns and privacy areas)
passes first.

Each runs only after `execute_moderator` has authenticated the sender (a configured moderator
with a token bound to the action and item, or aligned DKIM from a trusted server); every
outcome, refusals included, goes to the decision log.
"""

from __future__ import annotations

from typing import Final

from mailbot.commands.registry import (
    Command,
    Context,
    Result,
    Usage,
    command,
    ref_item,
)
from mailbot.contributions import get_contribution, queue_ack, queue_reply
from mailbot.models import Contribution, Participant
from mailbot.moderation import tokens
from mailbot.moderation.auth import authenticate, is_moderator
from mailbot.moderation.log import record
from mailbot.moderation.models import ModerationToken
from mailbot.moderation.policy import queue_alert
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
        return _refuse(ctx, cmd, args, item=item, line=line, reason=proof.reason)
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


def _refuse(
    ctx: Context, cmd: Command, args: tuple[str, ...], *, item: str, line: str, reason: str
) -> Result:
    """Log and alert a refused moderator command; a real moderator gets a CONFIRM token."""
    record(
        session=ctx.session,
        now=ctx.now,
        actor=ctx.sender or "?",
        action=cmd.name,
        item=item,
        outcome="refused",
        reason=reason,
        raw_id=ctx.raw.id,
        message_id=ctx.mail.message_id,
        details={"line": line},
    )
    queue_alert(
        app=ctx.app,
        session=ctx.session,
        sender=ctx.sender or "?",
        line=line,
        reason=reason,
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
    return Result("refused", "auth.refused", {"reason": reason, "confirm": confirm})


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
