"""The synthesis for the open meeting: per topic, counts, participants, the busiest threads,
every published contribution with its reference and first lines, and the table of hashes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.campaigns.pages import campaign_copies
from mailbot.campaigns.view import language_counts
from mailbot.privacy.waiting import confidential_count
from mailbot.publish import store
from mailbot.publish.render import Renderer, first_lines
from mailbot.topics import topic_title

TOP_THREADS = 5


@dataclass
class TopicSummary:
    slug: str
    title: str
    contributions: list[store.Entry] = field(default_factory=list)
    threads: list[store.ThreadInfo] = field(default_factory=list)

    @property
    def participants(self) -> int:
        return len({e.participant_id for e in self.contributions})

    @property
    def named(self) -> list[str]:
        return sorted({e.author for e in self.contributions if e.author}, key=str.casefold)

    @property
    def late(self) -> int:
        return sum(e.late for e in self.contributions)

    @property
    def languages(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.contributions:
            counts[e.language] = counts.get(e.language, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def busiest(self) -> list[store.ThreadInfo]:
        ranked = sorted((t for t in self.threads if t.replies), key=lambda t: (-t.replies, t.start))
        return ranked[:TOP_THREADS]


def summaries(*, app: App) -> tuple[list[TopicSummary], store.Plan, dict[str, str]]:
    """Per-topic summaries, the plan, and each contribution's first lines."""
    c = app.consultation
    renderer_titles = {t.slug: topic_title(c, t.slug) for t in c.topics}
    with Session(app.engine) as session:
        plan = store.plan(session=session, consultation_id=c.id)
        openings = {
            row.ref: first_lines(row.text)
            for row in store.texts(session=session, consultation_id=c.id)
        }
    topics = {slug: TopicSummary(slug, title) for slug, title in renderer_titles.items()}
    for e in plan.entries.values():
        topics.setdefault(e.topic, TopicSummary(e.topic, e.topic)).contributions.append(e)
    for th in plan.threads:
        topics.setdefault(th.topic, TopicSummary(th.topic, th.topic)).threads.append(th)
    return list(topics.values()), plan, openings


def render_synthesis(*, app: App, fmt: Literal["html", "md"] = "md") -> Iterator[str]:
    """The report, in pieces (a Jinja stream), in the consultation's default language."""
    topics, plan, openings = summaries(app=app)
    with Session(app.engine) as session:  # confidential ones: a count, nothing else
        confidential = confidential_count(session=session, consultation_id=app.consultation.id)
        copies = campaign_copies(session=session, settings=app.settings)
    renderer = Renderer(app.settings)
    template = renderer.template(f"synthesis.{fmt}")
    yield from template.generate(
        topics=topics,
        entries=plan.entries,
        openings=openings,
        now=app.clock.now(),
        total=len(plan.entries),
        participants=len({e.participant_id for e in plan.entries.values()}),
        confidential=confidential,
        campaigns=copies.first,
        hidden=copies.hidden,
        languages=language_counts(e.language for e in plan.entries.values()),
    )
