"""The `[campaigns]` section (`MAILBOT_CAMPAIGNS__<KEY>` overrides one)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Campaigns(BaseModel):
    """[campaigns]: near-duplicate letters grouped as campaigns (issue 16, mailbot/campaigns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True  # cluster at filing; off: every contribution stands alone
    threshold: float = Field(default=0.4, gt=0, lt=1)  # Jaccard similarity of 3-word shingles
    num_perm: int = Field(default=128, ge=16, le=512)  # MinHash size (a change re-keys the index)
    min_copies: int = Field(default=3, ge=2)  # a cluster this big is shown as a campaign
    min_words: int = Field(default=8, ge=1)  # shorter texts ("I agree") are never clustered
    added_words: int = Field(default=5, ge=1)  # a copy adding this many words is listed apart
