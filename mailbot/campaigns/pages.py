"""Campaigns in what is published: the archive's pages (`campaign/<ref>.html`: the shared
text, the count, the references, the copies that added words and those words; and
`campaign/index.html`), each campaign once on the topic pages, in the synthesis, and the
export's `campaign` column. The publish modules call these; nothing here reads a template."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from mailbot.campaigns.view import Campaign, campaign_refs, describe_all
from mailbot.config import Settings

Put = Callable[[str, str], None]
Render = Callable[..., str]


def write_campaign_pages(
    *, session: OrmSession, settings: Settings, render: Render, put: Put
) -> list[Campaign]:
    """Render and put every campaign's page and the list of campaigns; returns them."""
    config = settings.campaigns
    quiet = Session(bind=session.get_bind())  # sqlmodel's exec on the same engine
    try:
        campaigns = describe_all(
            session=quiet, min_copies=config.min_copies, added_words=config.added_words
        )
    finally:
        quiet.close()
    for campaign in campaigns:
        put(f"campaign/{campaign.ref}.html", render("campaign.html", root="../", c=campaign))
    put("campaign/index.html", render("campaigns.html", root="../", campaigns=campaigns))
    return campaigns


def campaign_column(*, session: OrmSession, settings: Settings) -> dict[str, str]:
    """The export's `campaign` column: contribution ref -> its campaign's ref."""
    quiet = Session(bind=session.get_bind())
    try:
        return campaign_refs(session=quiet, min_copies=settings.campaigns.min_copies)
    finally:
        quiet.close()


@dataclass
class Copies:
    first: dict[str, tuple[str, int]]  # first copy's ref -> (campaign ref, copies)
    hidden: set[str]  # the other copies' refs: not listed again


def campaign_copies(*, session: OrmSession, settings: Settings) -> Copies:
    """What the synthesis needs to list each campaign once."""
    ref_of = campaign_column(session=session, settings=settings)
    counts = Counter(ref_of.values())
    copies = Copies({}, set())
    for ref, campaign in sorted(ref_of.items(), key=lambda item: (len(item[0]), item[0])):
        if campaign in {c for c, _ in copies.first.values()}:
            copies.hidden.add(ref)
        else:
            copies.first[ref] = (campaign, counts[campaign])
    return copies


def topic_threads_once(
    *, session: OrmSession, settings: Settings, by_topic: dict[str, list[Any]]
) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """The topic lists without the threads that hold nothing but copies of campaigns listed
    already (one thread a copy, or one thread of them all when they share a subject), and
    thread key -> campaign ref for the threads that stand for a campaign."""
    ref_of = campaign_column(session=session, settings=settings)
    seen: set[str] = set()
    stands_for: dict[str, str] = {}
    listed: dict[str, list[Any]] = {}
    for slug, threads in by_topic.items():
        kept = []
        for th in threads:
            campaigns = {ref_of.get(ref) for ref in th.refs}
            if None not in campaigns and campaigns <= seen:
                continue  # nothing but copies of campaigns listed already
            if th.key in ref_of:
                stands_for[th.key] = ref_of[th.key]
            seen |= {c for c in campaigns if c is not None}
            kept.append(th)
        listed[slug] = kept
    return listed, stands_for
