"""Participant commands: HELP, TOPICS, STATUS, WITHDRAW, CONFIRM, LANGUAGE, (UN)SUBSCRIBE, END."""

from __future__ import annotations

from mailbot.addresses import command_address
from mailbot.answer import answer
from mailbot.commands.registry import Context, Result, Usage, command, parse_ref
from mailbot.compose import render_file
from mailbot.contributions import ack_context, get_contribution
from mailbot.conversation.newtext import new_text_of
from mailbot.deadline import deadline_in_force
from mailbot.models import Contribution, Participant
from mailbot.moderation import tokens
from mailbot.moderation.auth import dkim_proof, is_moderator
from mailbot.moderation.log import record
from mailbot.participants import find_or_create_participant, get_participant
from mailbot.topics import fold, topic_title

LANGUAGE_NAMES = {
    "en": ("en", "english", "anglais", "ingles"),
    "fr": ("fr", "french", "francais", "frances"),
    "es": ("es", "spanish", "espagnol", "espanol", "castellano"),
}


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
            return withdraw_now(ctx, contribution, f"token:{check.token_id}")
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


@command(
    "confirm",
    args=r"(\(.*\))?",
    keywords=("CONFIRMER", "CONFIRMAR"),
    usage="CONFIRM token",
    help="Confirm a request with the token we sent you.",
)
def do_confirm(ctx: Context, args: tuple[str, ...]) -> Result:
    # The token may be on the line, or (a bare reply) anywhere in the message.
    from mailbot.commands.moderator import run_confirmed

    # Only a token the sender wrote counts: one quoted from our message (the results of a
    # forged command, say) under "Confirm? I never sent that" confirms nothing.
    candidates = [a for a in args if tokens.TOKEN_RE.fullmatch(a.lower())] or tokens.find_tokens(
        new_text_of(ctx.mail)
    )
    reasons = []
    for token in candidates:
        check = tokens.check(
            session=ctx.session,
            settings=ctx.app.settings,
            now=ctx.now,
            token=token.lower(),
            action=None,
            item=None,
        )
        if not check.ok or check.row is None:
            reasons.append(check.reason)
            continue
        row = check.row
        if row.action in ("erase", "publish") and (own := ctx.app.road.commands.get(row.action)):
            # ERASE and PUBLISH check and use their token themselves (mailbot/privacy).
            ctx.tokens = [token.lower()]
            return own.process(ctx, (row.item, *row.args))
        if row.action in ("withdraw", "subscribe", "unsubscribe", "language"):
            if row.issued_to != ctx.sender:
                reasons.append(f"token {row.id} was not sent to {ctx.sender}")
                continue
            if not tokens.consume(
                session=ctx.session, token_id=row.id, now=ctx.now, by=ctx.sender, raw_id=ctx.raw.id
            ):
                reasons.append(f"token {row.id} was already used")
                continue
            if row.action == "subscribe":
                return subscribe_now(ctx)
            if row.action == "unsubscribe":
                return unsubscribe_now(ctx)
            if row.action == "language":
                return language_now(ctx, row.item.lower())
            contribution = get_contribution(session=ctx.session, ref=row.item)
            if contribution is None or contribution.status == "withdrawn":
                return Result("failed", "withdraw.already", {"ref": row.item})
            return withdraw_now(ctx, contribution, f"token:{row.id}")
        return run_confirmed(ctx, row, token.lower())
    return Result("refused", "confirm.bad", {"reason": "; ".join(reasons) or "no token"})


@command(
    "language",
    # Only a language we know makes a Subject a command ("Language diversity" is not one).
    args=r"(en|english|anglais|ingl[eé]s|fr|french|fran[cç]ais|franc[eé]s|es|spanish"
    r"|espagnol|espa[nñ]ol|castellano)",
    keywords=("LANGUE", "IDIOMA", "LANG", "LENGUA"),
    usage="LANGUAGE code",
    help="Answer me in this language (en, fr, es).",
)
def do_language(ctx: Context, args: tuple[str, ...]) -> Result:
    if not args:
        raise Usage("a language code")
    wanted = fold(args[0])
    supported = ctx.app.consultation.languages
    code = next((c for c, names in LANGUAGE_NAMES.items() if wanted in names), wanted)
    if code not in supported:
        return Result(
            "failed", "language.unknown", {"code": args[0], "supported": ", ".join(supported)}
        )
    ctx.lang = code  # this answer already speaks it; remembering it needs proof
    if not proven_sender(ctx):
        ask_confirmation(ctx, action="language", item=code)
        return Result("done", "language.pending", {"code": code})
    return language_now(ctx, code)


def language_now(ctx: Context, code: str) -> Result:
    person = participant(ctx, create=True)
    assert person is not None
    person.language = code
    ctx.session.add(person)
    ctx.lang = code
    return Result("done", "language.done", {"code": code})


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


def subscribe_now(ctx: Context) -> Result:
    person = participant(ctx, create=True)
    assert person is not None
    person.digest_subscribed = True
    ctx.session.add(person)
    return Result("done", "subscribe.done", {})


@command(
    "subscribe",
    keywords=("ABONNER", "SUSCRIBIR", "SUBSCRIBIR", "SUSCRIBIRSE"),
    usage="SUBSCRIBE",
    help="Receive the digest of contributions by mail.",
)
def do_subscribe(ctx: Context, args: tuple[str, ...]) -> Result:
    person = participant(ctx)
    if person is not None and person.digest_subscribed:
        return Result("done", "subscribe.already", {})
    # Double opt-in: a forged From must not subscribe someone else.
    token = tokens.issue(
        session=ctx.session,
        settings=ctx.app.settings,
        now=ctx.now,
        action="subscribe",
        item=ctx.sender,
        issued_to=ctx.sender,
    )
    send_confirmation(ctx, action="subscribe", item=ctx.sender, token=token)
    return Result("done", "subscribe.pending", {})


@command(
    "unsubscribe",
    keywords=("DESABONNER", "DÉSABONNER", "DESUSCRIBIR", "DESUSCRIBIRSE"),
    usage="UNSUBSCRIBE",
    help="Stop receiving the digest.",
)
def do_unsubscribe(ctx: Context, args: tuple[str, ...]) -> Result:
    person = participant(ctx)
    if person is None or not person.digest_subscribed:
        return Result("done", "unsubscribe.done", {})
    if not proven_sender(ctx):
        ask_confirmation(ctx, action="unsubscribe", item=ctx.sender)
        return Result("done", "unsubscribe.pending", {})
    return unsubscribe_now(ctx)


def unsubscribe_now(ctx: Context) -> Result:
    person = participant(ctx)
    if person is not None:
        person.digest_subscribed = False
        ctx.session.add(person)
    return Result("done", "unsubscribe.done", {})


@command(
    "end", keywords=("FIN", "THANKS", "MERCI", "GRACIAS"), usage="END", help="Stop reading here."
)
def do_end(ctx: Context, args: tuple[str, ...]) -> Result:
    ctx.stop = True
    return Result("done", "end", {})
