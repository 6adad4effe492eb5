"""The calendar's table: one row per thing a scheduled job sent (or decided not to send)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel


class SentRecord(SQLModel, table=True):
    """What a calendar job did for one period: the unique key makes every job idempotent.

    kind: digest | reminder | armed. period: the key of the occurrence, e.g. the digest's
    boundary `2026-11-23T07:00Z` or a reminder's `1d@2027-01-31T17:00Z`. Written in the same
    transaction as the outbox rows it queued, so either both exist or neither does.
    """

    __tablename__ = "sent_record"
    __table_args__ = (UniqueConstraint("consultation_id", "kind", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: str = Field(index=True)
    kind: str
    period: str
    due_at: datetime = Field(sa_type=DateTime(timezone=True))  # when it was due (UTC)
    window_start: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    window_end: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    issue: int | None = None  # digest issue number; None for a skipped empty week
    messages: int = 0  # outbox rows queued
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
