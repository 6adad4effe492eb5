"""GET and INDEX (LISTSERV's): the published text by mail, for members who read offline.

`GET WGIG-0042` answers with the published text of one contribution; `INDEX [topic]` with
the published references and their subjects (one topic, or all). Only published
contributions are served: a held, rejected or withdrawn one is "no such contribution".
"""

from __future__ import annotations

from sqlmodel import col, select

from mailbot.commands.registry import Context, Result, Usage, command, parse_ref
from mailbot.compose import render_file
from mailbot.contributions import ack_context, get_contribution
from mailbot.deadline import deadline_in_force
from mailbot.models import Contribution
from mailbot.privacy.shown import public_clause, shown_of
from mailbot.topics import fold

INDEX_LIMIT = 500  # references in one answer; the archive has the rest


@command(
    "get",
    args=r"{ref}",
    keywords=("OBTENIR", "RECUPERER", "RÉCUPÉRER", "OBTENER", "RECUPERAR"),
    usage="GET ref",
    help="The published text of a contribution.",
)
def do_get(ctx: Context, args: tuple[str, ...]) -> Result:
    ref = parse_ref(ctx, args[0]) if args else None
    if ref is None:
        raise Usage("a reference")
    contribution = get_contribution(session=ctx.session, ref=ref)
    shown = shown_of(contribution) if contribution is not None else None
    if contribution is None or shown is None or not shown.public:  # confidential: not served
        return Result("failed", "unknown-ref", {"ref": ref})
    deadline = deadline_in_force(app=ctx.app, session=ctx.session, topic=contribution.topic)
    context = ack_context(ctx.app, contribution, deadline=deadline) | {
        "author": shown.author or "",
        "text": contribution.text,
        "via_list": contribution.via_list,
    }
    block = render_file(settings=ctx.app.settings, name="get.txt", lang=ctx.lang, context=context)
    return Result("done", "get", {"ref": ref}, block=block)


def _topic_slug(ctx: Context, word: str) -> str | None:
    key = fold(word.strip("[]()<>.,;:"))
    for topic in ctx.app.consultation.topics:
        names = [topic.slug, *topic.title.values()]
        if any(fold(n) == key for n in names):
            return topic.slug
    return None


@command(
    "index",
    args=r"(\S+)?",
    keywords=("SOMMAIRE", "INDICE", "ÍNDICE"),
    usage="INDEX [topic]",
    help="The published contributions (of one topic), with their subjects.",
)
def do_index(ctx: Context, args: tuple[str, ...]) -> Result:
    c = ctx.app.consultation
    slug = _topic_slug(ctx, " ".join(args)) if args else None
    if args and slug is None:
        return Result(
            "failed",
            "refile.unknown-topic",
            {"topic": " ".join(args), "topics": ", ".join(t.slug for t in c.topics)},
        )
    query = (
        select(Contribution.ref, Contribution.subject, Contribution.topic)
        .where(Contribution.consultation_id == c.id, public_clause(Contribution))
        .order_by(col(Contribution.id))
        .limit(INDEX_LIMIT + 1)
    )
    if slug:
        query = query.where(Contribution.topic == slug)
    rows = [{"ref": r, "subject": s, "topic": t} for r, s, t in ctx.session.exec(query)]
    block = render_file(
        settings=ctx.app.settings,
        name="index.txt",
        lang=ctx.lang,
        context={"rows": rows[:INDEX_LIMIT], "more": len(rows) > INDEX_LIMIT, "topic": slug},
    )
    return Result("done", "index", {"count": min(len(rows), INDEX_LIMIT)}, block=block)
