"""The campaign index keeps what one transaction read (band holders, members' signatures):
a SPLIT in the same transaction must not leave a new copy joining by the stale answer."""

from __future__ import annotations

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.campaigns.index import forget, place, split
from mailbot.campaigns.models import CampaignMember
from mailbot.models import Contribution
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from tests.campaigns.test_campaign_commands import LETTER_A, LETTER_B
from tests.commands.commands_support import mail


def file_all(app: App, texts: list[str]) -> list[int]:
    """Contribution ids, in filing order."""
    items = [
        RawIn(raw=mail(sender=f"p{n}@cache.example.org", body=text), source="ingest")
        for n, text in enumerate(texts)
    ]
    store_raw_batch(app=app, items=items)
    process_pending(app=app)
    with Session(app.engine) as s:
        return [c for c in s.exec(select(Contribution.id).order_by(Contribution.id)) if c]  # type: ignore[arg-type]


def placements(app: App) -> tuple[int | None, int | None, int]:
    """In one transaction: place one short contribution as a copy, split the founder off,
    place another; (first placement, second placement, the founder). Rolled back."""
    founder, *_, late, later = file_all(app, [LETTER_A, LETTER_A, "Yes.", "Indeed."])
    config = app.settings.campaigns
    with Session(app.engine) as session:
        first = place(session=session, contribution_id=late, text=LETTER_A, config=config)
        assert split(session=session, contribution=session.get(Contribution, founder))  # type: ignore[arg-type]
        second = place(session=session, contribution_id=later, text=LETTER_A, config=config)
        session.rollback()
    return first, second, founder


def test_a_split_in_the_same_transaction_is_seen(app: App) -> None:
    first, second, founder = placements(app)
    assert first == founder
    # The founder stands alone now: the band keys it holds gather nobody around it.
    assert second != founder
    with Session(app.engine) as s:
        assert s.exec(select(CampaignMember.campaign_id)).all() == [founder, founder]


def test_a_copy_placed_after_a_forget_reads_the_rows_not_written_yet(app: App) -> None:
    # Rows placed in this transaction wait for its end (mailbot/deferred.py); once the cache
    # is forgotten (a moderator's SPLIT or MERGE), the index reads them from the database.
    first, second = file_all(app, ["Yes.", "Indeed."])  # too short: placed by nobody yet
    config = app.settings.campaigns
    with Session(app.engine) as session:
        assert place(session=session, contribution_id=first, text=LETTER_A, config=config) == first
        forget(session)
        assert place(session=session, contribution_id=second, text=LETTER_A, config=config) == first
        session.commit()
    with Session(app.engine) as s:
        assert s.exec(select(CampaignMember.campaign_id)).all() == [first, first]


def test_a_bridge_moves_the_members_not_written_yet(app: App) -> None:
    # Two clusters placed in this transaction, then a text like both: the second cluster's
    # member, still waiting to be written, joins the first as the written ones do.
    a, b, both = file_all(app, ["Yes.", "Indeed.", "Agreed."])
    config = app.settings.campaigns
    with Session(app.engine) as session:
        assert place(session=session, contribution_id=a, text=LETTER_A, config=config) == a
        assert place(session=session, contribution_id=b, text=LETTER_B, config=config) == b
        # Shares band keys with both letters, and is similar enough to each.
        bridge = " ".join([*LETTER_A.split()[:30], *LETTER_B.split()[:34]])
        assert place(session=session, contribution_id=both, text=bridge, config=config) == a
        session.commit()
    with Session(app.engine) as s:
        assert s.exec(select(CampaignMember.campaign_id)).all() == [a, a, a]
