"""The `[privacy]` section (`MAILBOT_PRIVACY__<KEY>` overrides one)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Privacy(BaseModel):
    """[privacy]: how contributions are published by default, consent, raw-mail retention."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # name | anonymous | confidential: the choice of an author who says nothing.
    default_publication: Literal["name", "anonymous", "confidential"] = "name"
    # true: a contribution waits, unpublished, until its author says how to publish it.
    require_consent: bool = False
    # Raw messages of a closed consultation are purged this many days after it closed
    # (hash and parsed public text kept); 0 keeps them.
    keep_raw_days: int = Field(default=0, ge=0)
