"""Thread tables: one row per conversation, and the Message-IDs each contribution names.

`Contribution.thread_id` / `parent_id` (spine columns) say where each message hangs;
`Thread` keeps what lists and pages need without walking the tree, and `ThreadRef` lets
a message that arrives late find the replies that named it (its "ghost"), by index.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Text
from sqlmodel import Field, SQLModel

# Longest key kept in an index (PostgreSQL btree rows are limited); a truncated key only
# makes the candidate lookup find a few more threads, never fewer.
KEY_LENGTH = 200
MSGID_LENGTH = 900


class Thread(SQLModel, table=True):
    """A conversation. Its id stays when messages re-link; when a late parent joins two
    threads the lower (older) id is kept and the other row is deleted."""

    __tablename__ = "thread"
    __table_args__ = (Index("ix_thread_subject_key", "subject_key", "topic"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: str = Field(index=True)
    topic: str = Field(index=True)  # the root's topic (a thread may span several)
    title: str = Field(sa_type=Text)  # base subject of the root (of its first child if a ghost)
    # The key subject merging compares (casemapped base subject, cut to KEY_LENGTH), so a
    # reply whose headers were stripped finds candidate threads by index.
    subject_key: str = Field(default="", max_length=KEY_LENGTH)
    root_contribution_id: int | None = None  # None: the root is a ghost
    root_message_id: str | None = None  # the ghost's id when nobody has sent it yet
    messages: int = 0
    participants: int = 0
    first_date: datetime = Field(sa_type=DateTime(timezone=True))  # earliest sent date
    last_date: datetime = Field(sa_type=DateTime(timezone=True))  # latest sent date
    last_activity: datetime = Field(sa_type=DateTime(timezone=True), index=True)  # received


class ThreadRef(SQLModel, table=True):
    """One Message-ID that a contribution's In-Reply-To or References names."""

    __tablename__ = "thread_ref"

    id: int | None = Field(default=None, primary_key=True)
    contribution_id: int = Field(foreign_key="contribution.id", index=True)
    message_id: str = Field(index=True, max_length=MSGID_LENGTH)
