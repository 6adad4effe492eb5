"""Tables of the hostile-mail area: bounces recorded per participant, and the answers log the
rate limits count (migration 0501)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index
from sqlmodel import Field, SQLModel


class BounceEvent(SQLModel, table=True):
    """One bounced address reported by one bounce message; the participant's score is the sum."""

    __tablename__ = "bounce_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    raw_id: int = Field(foreign_key="raw_message.id", index=True)
    participant_id: int | None = Field(default=None, foreign_key="participant.id", index=True)
    address: str | None = None  # the address that failed, when the bounce says which
    severity: str  # hard | soft
    status: str | None = None  # DSN status code (5.1.1) when there is one
    detector: str  # dsn | text | envelope
    score: float  # what this event added to the participant's bounce_score


class ReplyLog(SQLModel, table=True):
    """Every answer to a participant, as the per-recipient limit and the global brake see it."""

    __tablename__ = "reply_log"
    __table_args__ = (Index("ix_reply_log_recipient_at", "recipient", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    recipient: str
    kind: str  # the outbox kind (ack, results, notice...) or "suppressed" for the notice
    dedupe_key: str
    # queued | braked (queued, sent later) | suppressed (not queued) | notice (the one notice)
    decision: str
