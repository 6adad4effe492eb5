"""CONFIRM: a mailed token turned into the action it was issued for (WITHDRAW, a setting, a
moderator's decision, ERASE and PUBLISH)."""

from __future__ import annotations

from mailbot.commands.membership import language_now, subscribe_now, unsubscribe_now
from mailbot.commands.moderator import run_confirmed
from mailbot.commands.participant import withdraw_now
from mailbot.commands.registry import Context, Result, command
from mailbot.contributions import get_contribution
from mailbot.conversation.newtext import new_text_of
from mailbot.moderation import tokens


@command(
    "confirm",
    args=r"(\(.*\))?",
    keywords=("CONFIRMER", "CONFIRMAR"),
    usage="CONFIRM token",
    help="Confirm a request with the token we sent you.",
)
def do_confirm(ctx: Context, args: tuple[str, ...]) -> Result:
    # The token may be on the line, or (a bare reply) anywhere in the message.
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
