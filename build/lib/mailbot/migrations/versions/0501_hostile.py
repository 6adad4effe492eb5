"""hostile: bounce events per participant and the reply log the rate limits count

Revision ID: 0501_hostile
Revises: 0001
Create Date: 2026-11-28 13:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0501_hostile"
down_revision = "0001"
branch_labels = ("hostile",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bounce_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(), nullable=True),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("detector", sa.String(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["raw_id"], ["raw_message.id"]),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bounce_event_at", "bounce_event", ["at"])
    op.create_index("ix_bounce_event_raw_id", "bounce_event", ["raw_id"])
    op.create_index("ix_bounce_event_participant_id", "bounce_event", ["participant_id"])
    op.create_table(
        "reply_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("dedupe_key", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reply_log_at", "reply_log", ["at"])
    op.create_index("ix_reply_log_recipient_at", "reply_log", ["recipient", "at"])


def downgrade() -> None:
    op.drop_table("reply_log")
    op.drop_table("bounce_event")
