"""Moderation tables: issued tokens (single use), every decision taken, deadline overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Text
from sqlmodel import Field, SQLModel


class ModerationToken(SQLModel, table=True):
    """A token handed out for one action on one item; `used_at` makes it single use."""

    __tablename__ = "moderation_token"

    id: str = Field(primary_key=True, max_length=32)  # the public token id (not the secret part)
    action: str  # approve | reject | defer | refile | withdraw | extend | close | ...
    item: str  # the reference (WGIG-0042) or the command's argument
    args: list[str] = Field(default_factory=list, sa_type=JSON)  # extra arguments to replay
    issued_to: str | None = None  # the address it was sent to
    issued_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    used_by: str | None = None
    used_raw_id: int | None = None


class ModerationDecision(SQLModel, table=True):
    """Who did what, when, why, and with which proof; refusals are decisions too."""

    __tablename__ = "moderation_decision"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    actor: str  # the From address, or "policy" for automatic holds
    action: str
    item: str | None = None
    outcome: str  # done | refused | pending | recorded | failed
    reason: str = Field(default="", sa_type=Text)
    proof: str | None = None  # token:<id> | dkim:<authserv-id> | dkim:dkimpy | author | ...
    raw_id: int | None = None
    message_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class DeadlineOverride(SQLModel, table=True):
    """A deadline moved by EXTEND or CLOSE; the newest row wins over the config."""

    __tablename__ = "deadline_override"

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: str = Field(index=True)
    closes_at: datetime = Field(sa_type=DateTime(timezone=True))
    set_by: str
    set_at: datetime = Field(sa_type=DateTime(timezone=True))
    command: str  # extend | close
