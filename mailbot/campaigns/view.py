"""Campaigns as readers see them: which contributions are copies of one letter, the shared
text, the count, the references, and the copies that added words of their own.

Every page that lists contributions (digest, archive, synthesis, export) asks `campaign_refs`
and shows a campaign once; `describe` gives what a campaign page and `campaigns show` say.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from mailbot.campaigns.models import CampaignMember
from mailbot.campaigns.signature import words
from mailbot.conversation.newtext import new_text
from mailbot.models import Contribution

VISIBLE = ("published",)


@dataclass
class Campaign:
    ref: str  # the reference of its first copy: the campaign's name
    topic: str
    count: int
    refs: list[str]
    languages: dict[str, int] = field(default_factory=dict)
    shared_text: str = ""
    added: list[tuple[str, str]] = field(default_factory=list)  # (ref, the words it added)


@dataclass(frozen=True)
class Copy:
    id: int
    ref: str
    topic: str
    language: str


def _clusters(
    session: Session, *, min_copies: int, statuses: Iterable[str] = VISIBLE
) -> dict[int, list[Copy]]:
    """campaign id -> its copies in filing order, for clusters of `min_copies` or more."""
    wanted = tuple(statuses)
    big = (
        select(CampaignMember.campaign_id)
        .join(Contribution, col(Contribution.id) == CampaignMember.contribution_id)
        .where(col(Contribution.status).in_(wanted))
        .group_by(col(CampaignMember.campaign_id))
        .having(func.count() >= min_copies)
    )
    rows = session.execute(
        sa_select(
            col(CampaignMember.campaign_id),
            col(Contribution.id),
            col(Contribution.ref),
            col(Contribution.topic),
            col(Contribution.language),
        )
        .join(Contribution, col(Contribution.id) == CampaignMember.contribution_id)
        .where(col(CampaignMember.campaign_id).in_(big), col(Contribution.status).in_(wanted))
        .order_by(col(Contribution.id))
    ).all()
    out: dict[int, list[Copy]] = {}
    for campaign_id, cid, ref, topic, language in rows:
        assert cid is not None
        out.setdefault(campaign_id, []).append(Copy(cid, ref, topic, language))
    return out


def campaign_refs(
    *, session: Session, min_copies: int, statuses: Iterable[str] = VISIBLE
) -> dict[str, str]:
    """contribution ref -> its campaign's ref, for every copy in a campaign."""
    return {
        c.ref: members[0].ref
        for members in _clusters(session, min_copies=min_copies, statuses=statuses).values()
        for c in members
    }


def list_campaigns(
    *, session: Session, min_copies: int, statuses: Iterable[str] = VISIBLE
) -> list[Campaign]:
    """The campaigns, biggest first (no texts: cheap)."""
    found = [
        Campaign(
            ref=members[0].ref,
            topic=members[0].topic,
            count=len(members),
            refs=[c.ref for c in members],
            languages=dict(Counter(c.language for c in members).most_common()),
        )
        for members in _clusters(session, min_copies=min_copies, statuses=statuses).values()
    ]
    return sorted(found, key=lambda c: (-c.count, c.ref))


def describe(
    *,
    session: Session,
    ref: str,
    min_copies: int,
    added_words: int,
    statuses: Iterable[str] = VISIBLE,
) -> Campaign | None:
    """The campaign `ref` (its own ref or any copy's) with its shared text and added words."""
    for members in _clusters(session, min_copies=min_copies, statuses=statuses).values():
        if any(c.ref == ref.upper() for c in members):
            return _with_texts(session, members, added_words=added_words)
    return None


def describe_all(*, session: Session, min_copies: int, added_words: int) -> list[Campaign]:
    """Every campaign with its texts (the archive's pages), biggest first."""
    found = [
        _with_texts(session, members, added_words=added_words)
        for members in _clusters(session, min_copies=min_copies).values()
    ]
    return sorted(found, key=lambda c: (-c.count, c.ref))


def _with_texts(session: Session, members: list[Copy], *, added_words: int) -> Campaign:
    ids = [c.id for c in members]
    stored = dict(
        session.exec(
            select(Contribution.ref, Contribution.text).where(col(Contribution.id).in_(ids))
        ).all()
    )
    texts = {c.ref: new_text(stored[c.ref]) or stored[c.ref] for c in members}
    tokens = {ref: words(text) for ref, text in texts.items()}
    # The shared text is the version sent most often (ties: the earliest).
    counts = Counter(tuple(t) for t in tokens.values())
    shared_ref = next(
        c.ref for c in members if counts[tuple(tokens[c.ref])] == max(counts.values())
    )
    campaign = Campaign(
        ref=members[0].ref,
        topic=members[0].topic,
        count=len(members),
        refs=[c.ref for c in members],
        languages=dict(Counter(c.language for c in members).most_common()),
        shared_text=texts[shared_ref],
    )
    base = tokens[shared_ref]
    for c in members:
        added = added_to(base, tokens[c.ref])
        if len(added) >= added_words:
            campaign.added.append((c.ref, " ".join(added)))
    return campaign


def added_to(shared: list[str], copy: list[str]) -> list[str]:
    """The words `copy` has that the shared text has not, in the copy's order."""
    matcher = difflib.SequenceMatcher(a=shared, b=copy, autojunk=False)
    out: list[str] = []
    for op, _, _, j1, j2 in matcher.get_opcodes():
        if op in ("insert", "replace"):
            out.extend(copy[j1:j2])
    return out


def window_campaigns(
    *, session: Session, refs: Iterable[str], min_copies: int
) -> dict[str, tuple[str, int]]:
    """For a list of contributions (a digest's): ref -> (its campaign's ref, how many of its
    copies are in the list), for the copies in a campaign."""
    wanted = set(refs)
    of = {
        r: c
        for r, c in campaign_refs(session=session, min_copies=min_copies).items()
        if r in wanted
    }
    counts = Counter(of.values())
    return {ref: (campaign, counts[campaign]) for ref, campaign in of.items()}


def language_counts(languages: Iterable[str]) -> dict[str, int]:
    """Contributions by language, most frequent first (STATS, digest, synthesis)."""
    return dict(Counter(languages).most_common())


def once(items: Iterable[object], *, ref_of: dict[str, str], key: str = "ref") -> list[object]:
    """Keep each campaign's first item only (items are objects with a `ref` attribute or
    dicts with a "ref" key); other items pass as they are."""
    seen: set[str] = set()
    out: list[object] = []
    for item in items:
        ref = item.get(key) if isinstance(item, dict) else getattr(item, key, None)
        campaign = ref_of.get(str(ref))
        if campaign is not None:
            if campaign in seen:
                continue
            seen.add(campaign)
        out.append(item)
    return out
