"""PUBLISH and ERASE, by e-mail.

`PUBLISH WGIG-0042 ANONYMOUS|NAME|CONFIDENTIAL` (PUBLIER, PUBLICAR): the author changes how
their contribution is published, at once (the contribution came from the same address).
`ERASE WGIG-0042` / `ERASE ALL` (EFFACER, BORRAR): confirmed, as WITHDRAW is, by a token
mailed to the address; a moderator may erase someone's contribution, giving a reason,
confirmed the same way (a forged From cannot read the moderator's mailbox).
"""

from __future__ import annotations

from sqlmodel import select

from mailbot.commands.participant import (
    author_email,
    participant,
    proven_sender,
    send_confirmation,
)
from mailbot.commands.registry import Context, Result, Usage, command, parse_ref
from mailbot.contributions import get_contribution
from mailbot.models import Contribution, Participant
from mailbot.moderation import tokens
from mailbot.moderation.auth import is_moderator
from mailbot.moderation.log import record
from mailbot.moderation.models import ModerationToken
from mailbot.privacy.choice import choice_word
from mailbot.privacy.consent import set_publication
from mailbot.privacy.erase import erase
from mailbot.privacy.shown import NAME, privacy_words
from mailbot.topics import fold

ALL_WORDS = ("all", "tout", "toutes", "tous", "todo", "todas", "todos")


@command(
    "publish",
    args=r"{ref} \S+",
    keywords=("PUBLIER", "PUBLICAR"),
    usage="PUBLISH ref NAME|ANONYMOUS|CONFIDENTIAL",
    help="Choose how your contribution is published.",
)
def do_publish(ctx: Context, args: tuple[str, ...]) -> Result:
    ref = parse_ref(ctx, args[0]) if args else None
    if ref is None or len(args) < 2:
        raise Usage("a reference and a choice")
    choice = choice_word(args[1])
    if choice is None:
        return Result("failed", "publish.unknown", {"word": args[1][:40]})
    contribution = get_contribution(session=ctx.session, ref=ref)
    if contribution is None or contribution.erased_at is not None:
        return Result("failed", "unknown-ref", {"ref": ref})
    if author_email(ctx, contribution) != ctx.sender:
        return Result("refused", "publish.not-author", {"ref": ref})
    if needs_confirmation(ctx, contribution, choice):
        # Showing a name is the one change a forged From could harm: the mailbox confirms.
        ask_confirmation(ctx, action="publish", item=ref, args=(NAME,))
        return Result("done", "publish.pending", {"ref": ref})
    set_publication(
        app=ctx.app,
        session=ctx.session,
        contribution=contribution,
        choice=choice,
        organisation=None,
        raw_id=ctx.raw.id,
        message_id=ctx.mail.message_id,
    )
    label = privacy_words(ctx.app.settings, ctx.lang)[f"choice_{choice}"]
    return Result("done", "publish.done", {"ref": ref, "choice": label})


def needs_confirmation(ctx: Context, contribution: Contribution, choice: str) -> bool:
    """NAME on a contribution not yet named, from a sender without aligned DKIM and
    without the token we mailed them for it."""
    if choice != NAME or contribution.publication == NAME or proven_sender(ctx):
        return False
    return confirmed_token(ctx, action="publish", item=contribution.ref) is None


def erase_target(ctx: Context, args: tuple[str, ...]) -> tuple[str, str]:
    """("ALL" | ref, reason)."""
    if not args:
        raise Usage("a reference or ALL")
    if fold(args[0]) in ALL_WORDS:
        return "ALL", ""
    ref = parse_ref(ctx, args[0])
    if ref is None:
        raise Usage("a reference or ALL")
    return ref, " ".join(args[1:]).strip()


@command(
    "erase",
    args=r"({ref}|all|tout|toutes|tous|todo|todas|todos)( .*)?",
    keywords=("EFFACER", "BORRAR", "SUPPRIMER", "ERASURE"),
    usage="ERASE ref|ALL",
    help="Erase your contribution (or ALL of them), your name and your address.",
)
def do_erase(ctx: Context, args: tuple[str, ...]) -> Result:
    item, reason = erase_target(ctx, args)
    if item == "ALL":
        if participant(ctx) is None:
            return Result("failed", "erase.nothing", {})
    else:
        contribution = get_contribution(session=ctx.session, ref=item)
        if contribution is None:
            return Result("failed", "unknown-ref", {"ref": item})
        if contribution.erased_at is not None:
            return Result("failed", "erase.already", {"ref": item})
        if author_email(ctx, contribution) != ctx.sender:
            if not is_moderator(ctx.app.settings, ctx.sender):
                return Result("refused", "erase.not-author", {"ref": item})
            if not reason:
                return Result("failed", "erase.reason", {"ref": item})
    row = confirmed_token(ctx, action="erase", item=item)
    if row is not None:
        return erase_confirmed(ctx, row)
    ask_confirmation(ctx, action="erase", item=item, args=(reason,) if reason else ())
    return Result("done", "erase.pending", {"item": item})


def ask_confirmation(ctx: Context, *, action: str, item: str, args: tuple[str, ...]) -> None:
    """Mail the sender a token for this action (CONFIRM, or a reply, carries it back)."""
    token = tokens.issue(
        session=ctx.session,
        settings=ctx.app.settings,
        now=ctx.now,
        action=action,
        item=item,
        issued_to=ctx.sender,
        args=args,
    )
    send_confirmation(ctx, action=action, item=item, token=token)


def confirmed_token(ctx: Context, *, action: str, item: str) -> ModerationToken | None:
    """A token in the message (CONFIRM, or a reply to the confirmation) for this action
    and item, sent to this sender: used now, it is spent."""
    for token in ctx.tokens:
        check = tokens.check(
            session=ctx.session,
            settings=ctx.app.settings,
            now=ctx.now,
            token=token,
            action=action,
            item=item,
        )
        row = check.row
        if not check.ok or row is None or row.issued_to != ctx.sender:
            continue
        if tokens.consume(
            session=ctx.session, token_id=row.id, now=ctx.now, by=ctx.sender, raw_id=ctx.raw.id
        ):
            return row
    return None


def erase_confirmed(ctx: Context, row: ModerationToken) -> Result:
    """CONFIRM of an ERASE token (already checked as sent to this sender and consumed)."""
    reason = " ".join(row.args or ()).strip() or None
    person = participant(ctx)
    if row.item == "ALL":
        if person is None:
            return Result("failed", "erase.nothing", {})
        contributions = list(
            ctx.session.exec(select(Contribution).where(Contribution.participant_id == person.id))
        )
        return finish(ctx, row, contributions, person, moderator_reason=None, everything=True)
    contribution = get_contribution(session=ctx.session, ref=row.item)
    if contribution is None or contribution.erased_at is not None:
        return Result("failed", "erase.already", {"ref": row.item})
    author = ctx.session.get(Participant, contribution.participant_id)
    by_author = author is not None and author.email == ctx.sender
    if not by_author and not is_moderator(ctx.app.settings, ctx.sender):
        return Result("refused", "erase.not-author", {"ref": row.item})
    moderator_reason = None if by_author else reason or "no reason given"
    return finish(ctx, row, [contribution], author, moderator_reason=moderator_reason)


def finish(
    ctx: Context,
    row: ModerationToken,
    contributions: list[Contribution],
    person: Participant | None,
    *,
    moderator_reason: str | None,
    everything: bool = False,
) -> Result:
    """Erase, and log it: a moderator's erasure with their reason; the author's as "author"."""
    reason = moderator_reason
    by_moderator = moderator_reason is not None
    done = erase(
        app=ctx.app,
        session=ctx.session,
        contributions=contributions,
        participant=person,
        requested_by="moderator" if by_moderator else "author",
        reason=reason,
        everything=everything,
    )
    # The log says what was erased and on whose request, never whose address it was.
    record(
        session=ctx.session,
        now=ctx.now,
        actor=ctx.sender if by_moderator else "author",
        action="erase",
        item=row.item if not everything else f"ALL (erasure {done.id})",
        outcome="done",
        reason=reason or "confirmed by the author",
        proof=f"token:{row.id}",
        raw_id=ctx.raw.id,
    )
    return Result("done", "erase.done", {"item": row.item})
