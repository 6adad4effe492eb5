"""Participant commands: HELP, TOPICS, STATUS, WITHDRAW, END, and what the others share
(the sender's participant row, proof of the sender, confirmation by a mailed token)."""

from __future__ import annotations

from mailbot.addresses import command_address
from mailbot.answer import answer
from mailbot.commands.registry import Context, Result, Usage, command, parse_ref
from mailbot.compose import render_file
from mailbot.contributions import ack_context, get_contribution
from mailbot.deadline import deadline_in_force
from mailbot.models import Contribution, Participant
from mailbot.moderation import tokens
from mailbot.moderation.auth import dkim_proof, is_moderator
from mailbot.moderation.log import record
from mailbot.participants import find_or_create_participant, get_participant
from mailbot.topics import topic_title


def participant(ctx: Context, *, create: bool = False) -> Participant | None:
    found = get_participant(session=ctx.session, email=ctx.sender)
    if found is None and create:
        found = find_or_create_participant(
            session=ctx.session, email=ctx.sender, name=ctx.mail.from_name, now=ctx.now
        )
    return found


def author_email(ctx: Context, contribution: Contribution) -> str:
    author = ctx.session.get(Participant, contribution.participant_id)
    return author.email if author else ""


@command("help", keywords=("AIDE", "AYUDA"), usage="HELP", help="This list of commands.")
def do_help(ctx: Context, args: tuple[str, ...]) -> Result:
    block = render_file(
        settings=ctx.app.settings,
        name="help.txt",
        lang=ctx.lang,
        context={
            "commands": list(ctx.app.road.commands),
            "moderator": is_moderator(ctx.app.settings, ctx.sender),
            "command_address": command_address(ctx.app.settings),
        },
    )
    return Result("done", "help", block=block)


@command(
    "topics",
    keywords=("THEMES", "THÈMES", "TEMAS", "TOPIC"),
    usage="TOPICS",
    help="The topics you can write about, and their addresses.",
)
def do_topics(ctx: Context, args: tuple[str, ...]) -> Result:
    c = ctx.app.consultation
    local, _, domain = c.address.partition("@")
    topics = [
        {
            "slug": t.slug,
            "title": topic_title(ctx.app.consultation, t.slug, ctx.lang),
            "address": f"{local}+{t.slug}@{domain}",
        }
        for t in c.topics
    ]
    block = render_file(
        settings=ctx.app.settings, name="topics.txt", lang=ctx.lang, context={"topics": topics}
    )
    return Result("done", "topics", block=block)


@command(
    "status",
    args=r"{ref}",
    keywords=("STATUT", "ESTADO", "ETAT", "ÉTAT"),
    usage="STATUS ref",
    help="Where your contribution stands.",
)
def do_status(ctx: Context, args: tuple[str, ...]) -> Result:
    ref = parse_ref(ctx, args[0]) if args else None
    if ref is None:
        raise Usage("a reference")
    contribution = get_contribution(session=ctx.session, ref=ref)
    if contribution is None or (
        author_email(ctx, contribution) != ctx.sender
        and not is_moderator(ctx.app.settings, ctx.sender)
    ):
        return Result("failed", "unknown-ref", {"ref": ref})
    # The deadline of the contribution's topic, as its acknowledgement said.
    deadline = deadline_in_force(app=ctx.app, session=ctx.session, topic=contribution.topic)
    context = ack_context(ctx.app, contribution, deadline=deadline)
    block = render_file(
        settings=ctx.app.settings, name="status.txt", lang=ctx.lang, context=context
    )
    return Result("done", "status", {"ref": ref, "status": contribution.status}, block=block)


def send_confirmation(ctx: Context, *, action: str, item: str, token: str) -> None:
    answer(
        app=ctx.app,
        session=ctx.session,
        to=[ctx.sender],
        template="confirm.txt",
        lang=ctx.lang,
        context={
            "action": action,
            "item": item,
            "token": token,
            "command_address": command_address(ctx.app.settings),
        },
        kind="confirm",
        dedupe_key=f"confirm:{token.split('.')[1]}",
        in_reply_to=ctx.mail.message_id,
        reply_to=command_address(ctx.app.settings),
        now=ctx.now,
    )


def withdraw_now(ctx: Context, contribution: Contribution, proof: str) -> Result:
    contribution.status = "withdrawn"
    ctx.session.add(contribution)
    record(
        session=ctx.session,
        now=ctx.now,
        actor=ctx.sender,
        action="withdraw",
        item=contribution.ref,
        outcome="done",
        reason="confirmed by the author",
        proof=proof,
        raw_id=ctx.raw.id,
        message_id=ctx.mail.message_id,
    )
    return Result("done", "withdraw.done", {"ref": contribution.ref})


@command(
    "withdraw",
    args=r"{ref}",
    keywords=("RETIRER", "RETIRAR"),
    usage="WITHDRAW ref",
    help="Withdraw your contribution (you will be asked to confirm).",
)
def do_withdraw(ctx: Context, args: tuple[str, ...]) -> Result:
    ref = parse_ref(ctx, args[0]) if args else None
    if ref is None:
        raise Usage("a reference")
    contribution = get_contribution(session=ctx.session, ref=ref)
    if contribution is None:
        return Result("failed", "unknown-ref", {"ref": ref})
    if author_email(ctx, contribution) != ctx.sender:
        record(
            session=ctx.session,
            now=ctx.now,
            actor=ctx.sender,
            action="withdraw",
            item=ref,
            outcome="refused",
            reason="only the author may withdraw a contribution",
            raw_id=ctx.raw.id,
            message_id=ctx.mail.message_id,
        )
        return Result("refused", "withdraw.not-author", {"ref": ref})
    if contribution.status == "withdrawn":
        return Result("failed", "withdraw.already", {"ref": ref})
    token_id = _confirmed(ctx, ref)
    if token_id is not None:
        return withdraw_now(ctx, contribution, f"token:{token_id}")
    token = tokens.issue(
        session=ctx.session,
        settings=ctx.app.settings,
        now=ctx.now,
        action="withdraw",
        item=ref,
        issued_to=ctx.sender,
    )
    send_confirmation(ctx, action="withdraw", item=ref, token=token)
    record(
        session=ctx.session,
        now=ctx.now,
        actor=ctx.sender,
        action="withdraw",
        item=ref,
        outcome="pending",
        reason="confirmation token sent to the author",
        proof="author",
        raw_id=ctx.raw.id,
        message_id=ctx.mail.message_id,
        details={"token_id": token.split(".")[1]},
    )
    return Result("done", "withdraw.pending", {"ref": ref})


def _confirmed(ctx: Context, ref: str) -> str | None:
    """The id of a valid WITHDRAW token the mail carries, consumed now; None when there is none."""
    for token in ctx.tokens:  # a reply to the confirmation carries the token
        check = tokens.check(
            session=ctx.session,
            settings=ctx.app.settings,
            now=ctx.now,
            token=token,
            action="withdraw",
            item=ref,
        )
        if (
            check.ok
            and check.token_id
            and tokens.consume(
                session=ctx.session,
                token_id=check.token_id,
                now=ctx.now,
                by=ctx.sender,
                raw_id=ctx.raw.id,
            )
        ):
            return check.token_id
    return None


def proven_sender(ctx: Context) -> bool:
    """Is the From proven (aligned DKIM we trust)? Otherwise a change to someone's settings
    is confirmed by a token mailed to that address: a forged From cannot answer it."""
    proof = ctx.extra.get("dkim") or dkim_proof(
        mail=ctx.mail, raw=ctx.raw.raw, settings=ctx.app.settings
    )
    return bool(proof.ok)


def ask_confirmation(ctx: Context, *, action: str, item: str) -> None:
    token = tokens.issue(
        session=ctx.session,
        settings=ctx.app.settings,
        now=ctx.now,
        action=action,
        item=item,
        issued_to=ctx.sender,
    )
    send_confirmation(ctx, action=action, item=item, token=token)


@command(
    "end", keywords=("FIN", "THANKS", "MERCI", "GRACIAS"), usage="END", help="Stop reading here."
)
def do_end(ctx: Context, args: tuple[str, ...]) -> Result:
    ctx.stop = True
    return Result("done", "end", {})
