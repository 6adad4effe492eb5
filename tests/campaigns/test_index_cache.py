"""The campaign index keeps what one transaction read (band holders, members' signatures):
a SPLIT in the same transaction must not leave a new copy joining by the stale answer."""

from __future__ import annotations

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.campaigns.index import place, split
from mailbot.campaigns.models import CampaignMember
from mailbot.models import Contribution
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from tests.campaigns.test_campaign_commands import LETTER_A
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
