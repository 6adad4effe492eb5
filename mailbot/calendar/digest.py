"""The weekly digest's content: new published contributions of a window, grouped by topic then
thread, numbered, with counts, time left and (when configured) a moderation summary. Data only;
see digest_mail for the mail and calendar/excerpt for what an item shows of its text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from mailbot.app import App
from mailbot.calendar.excerpt import clean_title, excerpt
from mailbot.campaigns.view import language_counts, window_campaigns
from mailbot.clock import utc
from mailbot.conversation.lists import clean_list_id
from mailbot.deadline import deadline_in_force
from mailbot.models import Contribution
from mailbot.privacy.shown import author_column, public_clause


@dataclass
class DigestItem:
    number: int
    ref: str
    subject: str
    author: str | None  # as the author chose to appear; None = anonymous
    language: str
    received: datetime  # in the consultation's timezone
    excerpt: str  # one line per paragraph or list item
    via_list: str | None = None  # the id of the mailing list that delivered it, cleaned
    url: str | None = None  # its archive page, when publish.base_url is set
    campaign: str | None = None  # the campaign this copy stands for (issue 16)
    copies: int = 0  # how many of the campaign's copies this item stands for

    @property
    def wrapped(self) -> str:
        """The excerpt folded at 68 columns for the text part, continuation lines indented."""
        return "\n   ".join(line for part in self.lines for line in wrap(part, 68))

    @property
    def lines(self) -> list[str]:
        return self.excerpt.split("\n")


@dataclass
class DigestThread:
    subject: str
    items: list[DigestItem] = field(default_factory=list)


@dataclass
class DigestTopic:
    slug: str
    titles: dict[str, str]
    threads: list[DigestThread] = field(default_factory=list)
    count: int = 0

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles.get("en") or self.slug


@dataclass
class Digest:
    volume: int
    issue: int | None
    start: datetime  # window [start, end), in the consultation's timezone
    end: datetime
    now: datetime
    deadline: datetime
    topics: list[DigestTopic]
    new: int
    total: int  # published so far, up to the end of the window
    moderation: dict[str, int] | None  # None: not shown (calendar.digest_moderation_stats)
    languages: dict[str, int] = field(default_factory=dict)  # new contributions by language

    @property
    def empty(self) -> bool:
        return self.new == 0


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap (textwrap is ten times slower, and a digest wraps thousands)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


def fold(text: str, indent: str = "", width: int = 72) -> str:
    """`text` folded to `width` columns for the text part, continuation lines under `indent`
    (the first line keeps its own leading spaces: "   1. [REF] ...")."""
    lead = text[: len(text) - len(text.lstrip(" "))]
    lines = wrap(text, width - max(len(indent), len(lead))) or [""]
    return lead + f"\n{indent}".join(lines)


def moderation_counts(
    *, session: Session, consultation_id: str, start: datetime, end: datetime
) -> dict[str, int]:
    """Holds, approvals and rejections decided in the window, from the moderation area's
    decision log; without that area, the statuses of contributions received in the window."""
    try:
        from mailbot.moderation.models import ModerationDecision
    except ImportError:
        return status_counts(session=session, consultation_id=consultation_id, start=start, end=end)
    counts = {"held": 0, "approved": 0, "rejected": 0}
    names = {"hold": "held", "approve": "approved", "reject": "rejected"}
    rows = session.exec(
        select(ModerationDecision.action, ModerationDecision.reason).where(
            col(ModerationDecision.action).in_(names),
            ModerationDecision.outcome == "done",
            ModerationDecision.at >= start,
            ModerationDecision.at < end,
        )
    )
    for action, reason in rows:
        if not reason.startswith(f"{action}.already"):  # APPROVE of a published one: no-op
            counts[names[action]] += 1
    return counts


def status_counts(
    *, session: Session, consultation_id: str, start: datetime, end: datetime
) -> dict[str, int]:
    rows = session.exec(
        select(Contribution.status, func.count())
        .where(
            Contribution.consultation_id == consultation_id,
            Contribution.received_at >= start,
            Contribution.received_at < end,
        )
        .group_by(Contribution.status)
    ).all()
    by_status = {status: int(n) for status, n in rows}
    return {
        "held": by_status.get("held", 0),
        "approved": by_status.get("published", 0),
        "rejected": by_status.get("rejected", 0),
    }


def _window_query(consultation_id: str, start: datetime, end: datetime) -> Any:
    """The published contributions received in [start, end), oldest first."""
    columns: list[Any] = [
        Contribution.id,
        Contribution.ref,
        Contribution.topic,
        Contribution.thread_id,
        Contribution.subject,
        author_column(Contribution).label("author"),  # as the author chose to appear
        Contribution.language,
        Contribution.received_at,
        func.substr(Contribution.text, 1, 2000),  # enough for the first lines
        Contribution.via_list,
    ]
    return (
        sa_select(*columns)
        .where(
            col(Contribution.consultation_id) == consultation_id,
            public_clause(Contribution),  # confidential or awaiting a choice: never shown
            col(Contribution.received_at) >= start,
            col(Contribution.received_at) < end,
        )
        .order_by(*columns[7:8], columns[0])
    )


Pending = list[tuple[DigestThread, tuple[Any, ...]]]


def _group(rows: Any, topics: dict[str, DigestTopic]) -> Pending:
    """Each row under its topic and thread (created as first met); the items come later."""
    threads: dict[tuple[str, int], DigestThread] = {}
    pending: Pending = []  # numbered after grouping
    for cid, ref, topic, thread_id, subject, author, language, received, text, via in rows:
        group = topics.setdefault(topic, DigestTopic(topic, {"en": topic}))
        key = (topic, thread_id if thread_id is not None else -cid)
        thread = threads.get(key)
        if thread is None:
            thread = threads[key] = DigestThread(clean_title(subject or ""))
            group.threads.append(thread)
        group.count += 1
        pending.append((thread, (ref, subject, author, language, received, text, via)))
    return pending


def _add_items(*, app: App, session: Session, pending: Pending) -> None:
    """The threads' items; a campaign is shown once, as its first copy in the window, with
    the count (issue 16)."""
    settings, tz = app.settings.calendar, app.consultation.tz
    lines, chars = settings.digest_first_lines, settings.digest_excerpt_chars
    base = app.settings.publish.base_url
    copies = window_campaigns(
        session=session,
        refs=[p[1][0] for p in pending],
        min_copies=app.settings.campaigns.min_copies,
    )
    shown: set[str] = set()
    for thread, (ref, subject, author, language, received, text, via) in pending:
        campaign, count = copies.get(ref, (None, 0))
        if campaign in shown:
            continue
        if campaign:
            shown.add(campaign)
        thread.items.append(
            DigestItem(
                0,
                ref,
                clean_title(subject or ""),
                author,
                language,
                utc(received).astimezone(tz),
                excerpt(text or "", lines=lines, limit=chars, author=author),
                clean_list_id(via),
                f"{base.rstrip('/')}/c/{ref}.html" if base else None,
                campaign,
                count,
            )
        )


def _number(topics: dict[str, DigestTopic]) -> None:
    """Number the items in reading order; threads left empty (a campaign's other copies) go."""
    number = 0
    for group in topics.values():
        group.threads = [t for t in group.threads if t.items]
        for thread in group.threads:
            for item in thread.items:
                number += 1
                item.number = number


def build_digest(
    *,
    app: App,
    session: Session,
    start: datetime,
    end: datetime,
    issue: int | None,
    now: datetime | None = None,
) -> Digest:
    c = app.consultation
    settings = app.settings.calendar
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    topics = {t.slug: DigestTopic(t.slug, dict(t.title)) for t in c.topics}
    pending = _group(session.execute(_window_query(c.id, start, end)), topics)
    _add_items(app=app, session=session, pending=pending)
    _number(topics)
    total = session.exec(
        select(func.count())
        .select_from(Contribution)
        .where(
            Contribution.consultation_id == c.id,
            public_clause(Contribution),
            Contribution.received_at < end,
        )
    ).one()
    return Digest(
        volume=settings.digest_volume,
        issue=issue,
        start=start.astimezone(c.tz),
        end=end.astimezone(c.tz),
        now=(now or app.clock.now()).astimezone(c.tz),
        deadline=deadline_in_force(app=app, session=session),
        topics=[g for g in topics.values() if g.count],
        new=len(pending),
        total=int(total),
        moderation=moderation_counts(session=session, consultation_id=c.id, start=start, end=end)
        if settings.digest_moderation_stats
        else None,
        languages=language_counts(p[1][3] for p in pending),
    )
