"""The campaign index in SQL: place a new contribution in a cluster as it is filed (a filing
step), moderators' SPLIT and MERGE, and `rebuild`.

A new text's LSH band keys are looked up in `campaign_band` (one row a key: its first
holder); the holders' signatures are compared with the new one and the most similar, at or
above the threshold, gives its cluster. The keys and signatures live in the database, so a
restart loses nothing and several pipeline processes share one index.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from mailbot.app import App
from mailbot.campaigns.config import Campaigns
from mailbot.campaigns.models import CampaignBand, CampaignMember
from mailbot.campaigns.signature import (
    Fingerprint,
    band_keys,
    band_shape,
    fingerprint,
    from_bytes,
    similarity,
)
from mailbot.contributions import Filing
from mailbot.conversation.newtext import new_text
from mailbot.models import Contribution

MEMBER = CampaignMember.__table__.c  # type: ignore[attr-defined]
BAND = CampaignBand.__table__.c  # type: ignore[attr-defined]


def campaign_step(*, app: App, session: Session, filing: Filing) -> None:
    """Filing step: put the new contribution in its cluster (its receipt is unchanged)."""
    config = app.settings.campaigns
    if not config.enabled:
        return
    contribution = filing.contribution
    assert contribution.id is not None
    text = new_text(filing.mail.text) or filing.mail.text
    place(session=session, contribution_id=contribution.id, text=text, config=config)


def place(*, session: Session, contribution_id: int, text: str, config: Campaigns) -> int | None:
    """The cluster (campaign id) the text joins, or None when it is too short to compare.
    Plain SQL on the session's connection: this runs for every contribution, and the
    statements' compilation would cost more than their work."""
    found = fingerprint(text, num_perm=config.num_perm, min_words=config.min_words)
    if found is None:
        return None
    bands, rows = band_shape(config.threshold, config.num_perm)
    keys = list(dict.fromkeys(band_keys(found.hashes, bands=bands, rows=rows)))
    conn = session.connection()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    marks = ", ".join([mark] * len(keys))
    holders = conn.exec_driver_sql(
        f"SELECT contribution_id FROM campaign_band WHERE key IN ({marks})", tuple(keys)
    ).scalars()
    campaign_id = _best_cluster(conn, found, set(holders), config.threshold) or contribution_id
    row = (contribution_id, campaign_id, found.to_bytes(), found.words, False)
    conn.exec_driver_sql(
        "INSERT INTO campaign_member (contribution_id, campaign_id, signature, words, manual) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
        row,
    )
    # Only the keys no one holds yet; another process may insert the same ones: no conflict.
    conn.exec_driver_sql(
        "INSERT INTO campaign_band (key, contribution_id) "
        f"VALUES ({mark}, {mark}) ON CONFLICT (key) DO NOTHING",
        [(key, contribution_id) for key in keys],
    )
    return campaign_id


def _best_cluster(
    conn: Connection, found: Fingerprint, holders: set[int], threshold: float
) -> int | None:
    """The oldest cluster among the similar holders; when the new text is similar to copies
    in several clusters it bridges them, and they become one (the oldest)."""
    if not holders:
        return None
    query = sa_select(MEMBER.contribution_id, MEMBER.campaign_id, MEMBER.signature, MEMBER.manual)
    similar = {
        campaign_id
        for contribution_id, campaign_id, signature, manual in conn.execute(
            query.where(MEMBER.contribution_id.in_(holders))
        )
        # A copy a moderator split off stands alone: new copies do not gather around it.
        if signature
        and not (manual and campaign_id == contribution_id)
        and similarity(found.hashes, from_bytes(signature)) >= threshold
    }
    if not similar:
        return None
    oldest = min(similar)
    if len(similar) > 1:
        conn.execute(
            update(CampaignMember.__table__)  # type: ignore[attr-defined]
            .where(MEMBER.campaign_id.in_(similar - {oldest}), MEMBER.manual.is_(False))
            .values(campaign_id=oldest)
        )
    return oldest


def member(session: Session, contribution_id: int) -> CampaignMember | None:
    return session.get(CampaignMember, contribution_id)


def split(*, session: Session, contribution: Contribution) -> bool:
    """Take one copy out of its campaign: it stands alone from now on (and stays so: its
    cluster is its own, `manual`). False when it was in no cluster."""
    assert contribution.id is not None
    found = member(session, contribution.id)
    if found is None:
        return False
    old = found.campaign_id
    found.campaign_id, found.manual = contribution.id, True
    session.add(found)
    session.flush()
    if old == contribution.id:  # it founded its cluster: the others stay together
        _refound(session, old=contribution.id, keep=contribution.id)
    return True


def _refound(session: Session, *, old: int, keep: int) -> None:
    """The members of cluster `old` other than `keep` move to the oldest of them."""
    others = session.exec(
        select(CampaignMember.contribution_id)
        .where(CampaignMember.campaign_id == old, CampaignMember.contribution_id != keep)
        .order_by(col(CampaignMember.contribution_id))
    ).all()
    if others:
        session.execute(
            update(CampaignMember)
            .where(col(CampaignMember.campaign_id) == old)
            .where(col(CampaignMember.contribution_id) != keep)
            .values(campaign_id=others[0])
        )


def merge(*, session: Session, into: Contribution, other: Contribution) -> int:
    """Put `other`'s whole cluster in `into`'s; returns how many contributions moved."""
    assert into.id is not None and other.id is not None
    target = _ensure_member(session, into.id)
    source = _ensure_member(session, other.id)
    if source.campaign_id == target.campaign_id:
        return 0
    moved = session.execute(
        update(CampaignMember)
        .where(col(CampaignMember.campaign_id) == source.campaign_id)
        .values(campaign_id=target.campaign_id, manual=True)
    )
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]


def _ensure_member(session: Session, contribution_id: int) -> CampaignMember:
    """A moderator may merge a text too short to be indexed: it joins without a signature."""
    found = member(session, contribution_id)
    if found is None:
        found = CampaignMember(
            contribution_id=contribution_id, campaign_id=contribution_id, signature=b"", manual=True
        )
        session.add(found)
        session.flush()
    return found


def rebuild(*, app: App, session: Session) -> int:
    """Re-index every contribution in filing order (after a change of threshold or num_perm);
    moderators' placements are kept. Returns how many were placed."""
    config = app.settings.campaigns
    session.execute(delete(CampaignBand))
    session.execute(delete(CampaignMember).where(col(CampaignMember.manual).is_(False)))
    manual = set(session.exec(select(CampaignMember.contribution_id)).all())
    placed = 0
    query = select(Contribution.id, Contribution.text).order_by(col(Contribution.id))
    for cid, text in session.exec(query).all():
        assert cid is not None
        if cid in manual:
            continue
        placed += (
            place(session=session, contribution_id=cid, text=new_text(text), config=config)
            is not None
        )
    return placed
