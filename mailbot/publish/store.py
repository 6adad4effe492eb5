"""What may be published: the published contributions, their thread trees, read in streams.

Only rows with status "published" are ever read here, so held, deferred, rejected, refused
and withdrawn contributions cannot leak into the archive, the feeds or an export.

Threads: `Contribution.thread_id` / `parent_id` when the threading step set them; a row
without a thread_id hangs under the nearest published message its In-Reply-To/References
name (so an archive imported from an mbox groups the same way); otherwise it is its own
thread. This module reads those links; `publish.layout` makes the trees (and holds `Entry`,
`ThreadInfo` and `Plan`, importable from here too).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.clock import utc
from mailbot.conversation.lists import clean_list_id
from mailbot.models import Contribution
from mailbot.privacy.shown import author_column, public_clause
from mailbot.publish.layout import Entry, Links, Plan, layout, published_parents
from mailbot.publish.layout import ThreadInfo as ThreadInfo

PUBLISHED = "published"
C = Contribution.__table__.c  # type: ignore[attr-defined]


def _thread_titles(session: Session, ids: set[int], shown: set[int]) -> dict[int, str]:
    """Titles from the threading area's Thread table, when it exists and has one (only
    of a root that is itself shown: a confidential root's subject is not published)."""
    try:
        from mailbot.threads import models as thread_models
    except ImportError:
        return {}
    model: Any = getattr(thread_models, "Thread", None)
    table = getattr(model, "__table__", None)
    if table is None or not ids:
        return {}
    column = next((table.c[n] for n in ("title", "subject") if n in table.c), None)
    if column is None:
        return {}
    titles: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        root = table.c.root_contribution_id
        query = select(table.c.id, column, root).where(table.c.id.in_(chunk))
        for tid, title, root_id in session.execute(query):
            if title and (root_id is None or root_id in shown):
                titles[tid] = str(title)
    return titles


def plan(*, session: Session, consultation_id: str) -> Plan:
    """Read the published rows' metadata (one streamed query) and lay out the threads."""
    links = _read_links(session, consultation_id)
    # Parents set by the threading step may point at unpublished rows: climb past them.
    unpublished = {
        cid: pid
        for cid, pid in session.execute(
            select(C.id, C.parent_id).where(
                C.consultation_id == consultation_id,
                ~public_clause(C),
                C.parent_id.is_not(None),
            )
        )
    }
    parents = published_parents(links, unpublished)
    titles = _thread_titles(session, set(links.thread_of.values()), set(links.by_id))
    return layout(links.by_id, parents, links.thread_of, titles)


def _read_links(session: Session, consultation_id: str) -> Links:
    """Every published row as an Entry, with the links the threading step or its headers
    give (a row without a thread_id: its In-Reply-To/References)."""
    query = (
        select(
            C.id,
            C.ref,
            C.topic,
            C.subject,
            author_column(C).label("author_name"),  # as the author chose to appear
            C.language,
            C.received_at,
            C.late,
            C.participant_id,
            C.text_sha256,
            C.via_list,
            C.thread_id,
            C.parent_id,
            C.message_id,
            C.in_reply_to,
            C.references,
        )
        .where(C.consultation_id == consultation_id, public_clause(C))
        .order_by(C.id)
    )
    links = Links()
    for row in session.execute(query).yield_per(2000):
        links.by_id[row.id] = Entry(
            id=row.id,
            ref=row.ref,
            topic=row.topic,
            subject=row.subject,
            author=row.author_name,
            language=row.language,
            received_at=utc(row.received_at),
            late=bool(row.late),
            participant_id=row.participant_id,
            sha256=row.text_sha256,
            via_list=clean_list_id(row.via_list),
        )
        if row.thread_id is not None:
            links.thread_of[row.id] = row.thread_id
            if row.parent_id is not None:
                links.parent_of[row.id] = row.parent_id
        elif row.in_reply_to or row.references:
            links.headers[row.id] = (row.in_reply_to, tuple(row.references or ()))
        if row.message_id:
            links.by_msgid.setdefault(row.message_id, row.id)
    return links


def bodies(*, session: Session, ids: Sequence[int]) -> dict[int, Any]:
    """The text, sanitisable HTML and attachments of some contributions (one query)."""
    query = select(C.id, C.text, C.html, C.attachments, C.sent_at, C.message_id).where(
        C.id.in_(list(ids)), public_clause(C)
    )
    return {row.id: row for row in session.execute(query)}


def raw_messages(
    *, session: Session, consultation_id: str, topic: str | None = None
) -> Iterator[Any]:
    """What the mbox export may hold of public contributions, oldest first: the parsed
    record, never the raw bytes (their headers carry addresses; `privacy.mbox` writes it)."""
    query = (
        select(
            C.ref,
            C.topic,
            C.subject,
            author_column(C).label("author"),
            C.language,
            C.text,
            C.message_id,
            C.in_reply_to,
            C.references,
            C.sent_at,
            C.received_at,
        )
        .where(C.consultation_id == consultation_id, public_clause(C))
        .order_by(C.id)
    )
    if topic:
        query = query.where(C.topic == topic)
    yield from session.execute(query).yield_per(200)


def texts(*, session: Session, consultation_id: str, topic: str | None = None) -> Iterator[Any]:
    """(id, text) of published contributions, oldest first."""
    query = (
        select(C.id, C.ref, C.text)
        .where(C.consultation_id == consultation_id, public_clause(C))
        .order_by(C.id)
    )
    if topic:
        query = query.where(C.topic == topic)
    yield from session.execute(query).yield_per(500)
