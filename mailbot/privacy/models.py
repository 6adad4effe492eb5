"""The privacy area's table: one row per erasure, holding no personal data once followed up.

An erasure blanks the database rows at once; the places derived from them (sent mail in
the outbox, the command mails that asked for it, tokens, the moderation log, the IMAP
`Processed` copy) follow when `follow_erasures` runs (`mailbot privacy purge`, the daily
job). Until then the row keeps the SHA-256 of the address to find them; afterwards, none.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Text
from sqlmodel import Field, SQLModel


class Erasure(SQLModel, table=True):
    __tablename__ = "erasure"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime(timezone=True))
    scope: str  # one | all
    ref: str | None = None  # the contribution (scope one)
    requested_by: str  # author | moderator (never an address)
    reason: str | None = Field(default=None, sa_type=Text)  # a moderator's reason
    address_sha256: str | None = Field(default=None, max_length=64)  # cleared once followed
    message_ids: list[str] = Field(default_factory=list, sa_type=JSON)  # IMAP copies to expunge
    followed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True), index=True)
