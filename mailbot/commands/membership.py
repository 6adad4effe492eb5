"""A participant's own settings by mail: LANGUAGE, SUBSCRIBE, UNSUBSCRIBE (each confirmed by a
mailed token unless the sender is proven)."""

from __future__ import annotations

from mailbot.commands.participant import (
    ask_confirmation,
    participant,
    proven_sender,
    send_confirmation,
)
from mailbot.commands.registry import Context, Result, Usage, command
from mailbot.moderation import tokens
from mailbot.topics import fold

LANGUAGE_NAMES = {
    "en": ("en", "english", "anglais", "ingles"),
    "fr": ("fr", "french", "francais", "frances"),
    "es": ("es", "spanish", "espagnol", "espanol", "castellano"),
}


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
