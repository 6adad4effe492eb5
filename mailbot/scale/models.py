"""The heartbeat table: each running process says, per role, that it is alive (and leads)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class Heartbeat(SQLModel, table=True):
    """One row per (process, role); `mailbot status` reads their ages."""

    __tablename__ = "heartbeat"

    process: str = Field(primary_key=True)  # host:pid
    role: str = Field(primary_key=True)  # listener | pipeline | sender | scheduler | imap
    started_at: datetime = Field(sa_type=DateTime(timezone=True))
    beat_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    leads: bool = False  # holds the role's leader lock (scheduler, imap)
