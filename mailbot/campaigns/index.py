"""The campaign index in SQL: place a new contribution in a cluster as it is filed (a filing
step), moderators' SPLIT and MERGE, and `rebuild`.

A new text's LSH band keys are looked up in `campaign_band` (one row a key: its first
holder); the holders' signatures are compared with the new one and the most similar, at or
above the threshold, gives its cluster. The keys and signatures live in the database, so a
restart loses nothing and several pipeline processes share one index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from sqlalchemy import Connection, Insert, delete, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from mailbot import deferred
from mailbot.app import App
from mailbot.campaigns.config import Campaigns
from mailbot.campaigns.models import CampaignBand, CampaignMember
from mailbot.campaigns.signature import Fingerprint, Indexed, from_bytes, indexed, similarity
from mailbot.contributions import Filing
from mailbot.conversation.newtext import author_words, new_text
from mailbot.models import Contribution

CACHE_KEY = "mailbot.campaigns"  # session.info: Known, for one transaction
MEMBER_TABLE = CampaignMember.__table__  # type: ignore[attr-defined]
BAND_TABLE = CampaignBand.__table__  # type: ignore[attr-defined]
MEMBER = MEMBER_TABLE.c
MEMBER_ROW = insert(MEMBER_TABLE)


def campaign_step(*, app: App, session: Session, filing: Filing) -> None:
    """Filing step: put the new contribution in its cluster (its receipt is unchanged)."""
    config = app.settings.campaigns
    if not config.enabled:
        return
    contribution = filing.contribution
    assert contribution.id is not None
    reading = filing.mail.reading  # fingerprinted before the write turn (reading.py)
    if reading is not None and reading.campaign is None:
        return  # too short to compare
    place(
        session=session,
        contribution_id=contribution.id,
        text=author_words(filing.mail),
        config=config,
        known_index=reading.campaign if reading else None,
    )


@dataclass
class Known:
    """What this transaction has read or written of the index. Filing runs many messages in
    one transaction and, on PostgreSQL, holds the consultation's filing lock for all of it,
    so nobody else changes these rows meanwhile; the next transaction starts afresh."""

    holders: dict[int, int | None] = field(default_factory=dict)  # band key -> holder/None
    # contribution -> (campaign, signature, placed by a moderator)
    members: dict[int, tuple[int, np.ndarray, bool]] = field(default_factory=dict)


def known(session: Session) -> Known:
    found: Known = session.info.setdefault(CACHE_KEY, Known())
    return found


def forget(session: Session) -> None:
    """A moderator's SPLIT or MERGE, or a rebuild, moves members: read them again. The rows
    this transaction placed are written first, so every row still waiting is one `known`
    holds, and a read of what it does not hold needs no write before it (it scanned every
    waiting row, for every message of a turn)."""
    deferred.write(session, MEMBER_TABLE.name)
    deferred.write(session, BAND_TABLE.name)
    session.info.pop(CACHE_KEY, None)


def place(
    *,
    session: Session,
    contribution_id: int,
    text: str,
    config: Campaigns,
    known_index: Indexed | None = None,
) -> int | None:
    """The cluster (campaign id) the text joins, or None when it is too short to compare.
    `known_index`: the text's fingerprint and band keys when worked out already (reading.py).
    Plain SQL on the session's connection for the reads (this runs for every contribution);
    the rows written wait for the end of the transaction."""
    found_index = known_index or indexed(text, config.num_perm, config.min_words, config.threshold)
    if found_index is None:
        return None
    found, keys = found_index
    seen = known(session)
    _look_up(session, seen, keys)
    holders = {h for key in keys if (h := seen.holders[key]) is not None}
    campaign_id = _best_cluster(session, seen, found, holders, config.threshold) or contribution_id
    # The rows wait for the transaction's others (`mailbot.deferred`): `seen` has them.
    row = {
        "contribution_id": contribution_id,
        "campaign_id": campaign_id,
        "signature": found.to_bytes(),
        "words": found.words,
        "manual": False,
    }
    deferred.add(session, MEMBER_ROW, row)
    seen.members[contribution_id] = (campaign_id, found.hashes, False)
    # Only the keys no one holds yet; another process may insert the same ones: no conflict.
    free = [key for key in keys if seen.holders[key] is None]
    if free:
        band = _band_row(session.connection().dialect.name)
        for key in free:
            deferred.add(session, band, {"key": key, "contribution_id": contribution_id})
        seen.holders.update(dict.fromkeys(free, contribution_id))
    return campaign_id


@lru_cache(maxsize=2)
def _band_row(dialect: str) -> Insert:
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(BAND_TABLE)
    return insert.on_conflict_do_nothing(index_elements=["key"])


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _look_up(session: Session, seen: Known, keys: list[int]) -> None:
    """Learn the holder of each key (None: free) this transaction does not know yet."""
    missing = [key for key in keys if key not in seen.holders]
    if not missing:
        return
    conn = session.connection()
    marks = ", ".join([_mark(conn)] * len(missing))
    held: dict[int, int] = dict(
        conn.exec_driver_sql(
            f"SELECT key, contribution_id FROM campaign_band WHERE key IN ({marks})",
            tuple(missing),
        ).all()
    )
    seen.holders.update((key, held.get(key)) for key in missing)


def _members(session: Session, seen: Known, holders: set[int]) -> None:
    """Learn the cluster and signature of each holder this transaction does not know yet."""
    missing = sorted(holders - seen.members.keys())
    if not missing:
        return
    conn = session.connection()
    marks = ", ".join([_mark(conn)] * len(missing))
    query = (
        "SELECT contribution_id, campaign_id, signature, manual FROM campaign_member "
        f"WHERE contribution_id IN ({marks})"
    )
    for contribution_id, campaign_id, signature, manual in conn.exec_driver_sql(
        query, tuple(missing)
    ):
        seen.members[contribution_id] = (campaign_id, from_bytes(signature), bool(manual))


def _best_cluster(
    session: Session, seen: Known, found: Fingerprint, holders: set[int], threshold: float
) -> int | None:
    """The oldest cluster among the similar holders; when the new text is similar to copies
    in several clusters it bridges them, and they become one (the oldest)."""
    if not holders:
        return None
    _members(session, seen, holders)
    similar = {
        campaign_id
        for contribution_id, (campaign_id, signature, manual) in (
            (h, seen.members[h]) for h in holders if h in seen.members
        )
        # A copy a moderator split off stands alone: new copies do not gather around it.
        if len(signature)
        and not (manual and campaign_id == contribution_id)
        and similarity(found.hashes, signature) >= threshold
    }
    if not similar:
        return None
    oldest = min(similar)
    if len(similar) > 1:
        joined = similar - {oldest}
        deferred.write(session, MEMBER_TABLE.name)  # every member moves, this turn's too
        session.connection().execute(
            update(CampaignMember.__table__)  # type: ignore[attr-defined]
            .where(MEMBER.campaign_id.in_(joined), MEMBER.manual.is_(False))
            .values(campaign_id=oldest)
        )
        for cid, (campaign_id, signature, manual) in list(seen.members.items()):
            if campaign_id in joined and not manual:
                seen.members[cid] = (oldest, signature, manual)
    return oldest


def member(session: Session, contribution_id: int) -> CampaignMember | None:
    return session.get(CampaignMember, contribution_id)


def split(*, session: Session, contribution: Contribution) -> bool:
    """Take one copy out of its campaign: it stands alone from now on (and stays so: its
    cluster is its own, `manual`). False when it was in no cluster."""
    assert contribution.id is not None
    forget(session)
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
    forget(session)
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
    forget(session)
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
