"""The IMAP position: per account and folder, the UIDVALIDITY and the last UID stored.

It is a hint for speed and for `after = "seen"` mode, never the guard against doubles:
that is the content-hash dedupe of `store_raw_batch`. It is written only after the batch
it describes is committed, so it can lag behind the store but never run ahead of it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel


class ImapPosition(SQLModel, table=True):
    __tablename__ = "imap_position"
    __table_args__ = (UniqueConstraint("account", "folder"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str  # user@host:port (ImapAccount.key)
    folder: str
    # UIDVALIDITY and UIDs are 32-bit unsigned: they overflow a signed INTEGER.
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_uid: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))
