"""The campaign index's tables (migration c19_16): a signature and a cluster per contribution,
and the LSH band keys, so a restart (or another process) finds the same campaigns."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, LargeBinary
from sqlmodel import Field, SQLModel


class CampaignMember(SQLModel, table=True):
    """Which cluster a contribution is in; a cluster of `min_copies` or more is a campaign.
    `campaign_id` is the id of the cluster's first contribution (its founder)."""

    __tablename__ = "campaign_member"

    contribution_id: int = Field(foreign_key="contribution.id", primary_key=True)
    campaign_id: int = Field(index=True)
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # MinHash, uint32s
    words: int = 0  # of the normalised new text
    manual: bool = False  # placed by a moderator (CAMPAIGN SPLIT / MERGE)


class CampaignBand(SQLModel, table=True):
    """One LSH band key -> the first contribution that had it. Keeping only the first keeps
    a lookup to one row a band, however big a campaign grows."""

    __tablename__ = "campaign_band"

    key: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    contribution_id: int = Field(foreign_key="contribution.id")
