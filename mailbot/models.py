"""The spine's tables: raw mail (append-only), participants, topics, contributions, outbox.

Everything but `RawMessage.raw` is derived and can be rebuilt from it (`mailbot replay`).
Other areas keep their own tables in their own modules (imap, threads, moderation, ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class RawMessage(SQLModel, table=True):
    """Exact bytes as received; the only thing we never change or delete."""

    __tablename__ = "raw_message"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    source: str  # smtp | lmtp | imap | ingest | mbox
    envelope_from: str | None = None
    envelope_to: list[str] = Field(default_factory=list, sa_type=JSON)
    message_id: str | None = Field(default=None, index=True)
    content_sha256: str = Field(unique=True, max_length=64)
    size: int
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Processing state, derived: new -> done | quarantined.
    state: str = Field(default="new", index=True)
    outcome: str | None = None  # contribution | command | bounce | autoreply | loop | ...
    reason: str | None = Field(default=None, sa_type=Text)
    processed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # PostgreSQL, several pipelines (scale/claims.py): who works on it, until when.
    claimed_by: str | None = None
    claimed_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Participant(SQLModel, table=True):
    __tablename__ = "participant"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)  # lower-cased address
    display_name: str | None = None
    language: str | None = None  # chosen with LANGUAGE, else detected
    first_seen: datetime = Field(sa_type=DateTime(timezone=True))
    digest_subscribed: bool = False
    bounce_score: float = 0.0


class TopicRow(SQLModel, table=True):
    """A topic as filed against; titles and aliases live in the config, synced at start-up."""

    __tablename__ = "topic"
    __table_args__ = (UniqueConstraint("consultation_id", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: str
    slug: str
    title: str


class RefCounter(SQLModel, table=True):
    """Hands out tracking numbers; a number once given is never given again."""

    __tablename__ = "ref_counter"

    consultation_id: str = Field(primary_key=True)
    last: int = 0


class Contribution(SQLModel, table=True):
    __tablename__ = "contribution"

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: str = Field(index=True)
    ref: str = Field(unique=True)  # e.g. WGIG-0042
    raw_id: int = Field(foreign_key="raw_message.id", unique=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    topic: str = Field(index=True)  # topic slug
    topic_rule: str  # which rule chose the topic: subaddress | tag | reply | keyword | default
    needs_refile: bool = False  # fell to the default topic: moderators should look
    message_id: str | None = Field(default=None, index=True)
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list, sa_type=JSON)
    subject: str = Field(sa_type=Text)
    author_name: str | None = None  # as the author chose to appear; None = anonymous
    language: str
    text: str = Field(sa_type=Text)
    text_sha256: str = Field(max_length=64)
    html: str | None = Field(default=None, sa_type=Text)  # sanitised, for display only
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    received_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    late: bool = False
    # published | held | deferred | rejected | withdrawn
    status: str = Field(default="published", index=True)
    thread_id: int | None = Field(default=None, index=True)
    parent_id: int | None = None
    via_list: str | None = None  # the List-Id of the mailing list that delivered it
    # How the author chose to appear (mailbot/privacy): name | anonymous | confidential;
    # None: not chosen yet while the consultation requires a choice (waits unpublished).
    publication: str | None = Field(default="name", index=True)
    organisation: str | None = None  # "Organisation: ..." line, shown with the name only
    erased_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class OutboxMessage(SQLModel, table=True):
    """Every outgoing message is a row first; the sender drains pending rows."""

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    kind: str  # ack | results | notice | reminder | digest | ...
    # Unique per logical message (e.g. "ack:WGIG-0042"), so no job or replay queues it twice.
    dedupe_key: str = Field(unique=True)
    mail_from: str
    recipients: list[str] = Field(sa_type=JSON)
    message_id: str
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # pending -> sending -> sent | failed
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    last_error: str | None = Field(default=None, sa_type=Text)
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    contribution_id: int | None = Field(default=None, index=True)
    # PostgreSQL, several senders (scale/claims.py): who is sending it, until when.
    claimed_by: str | None = None
    claimed_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
