"""Moderator commands on the calendar: EXTEND the deadline, CLOSE the consultation now
(authenticated by `execute_moderator` like every moderator command)."""

from __future__ import annotations

import re
from datetime import datetime

from mailbot.commands.moderator import MODERATOR
from mailbot.commands.registry import Context, Result, Usage, command, consultation_item
from mailbot.moderation.deadline import set_deadline


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
