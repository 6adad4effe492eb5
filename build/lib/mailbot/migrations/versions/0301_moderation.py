"""moderation: tokens, decision log, deadline overrides

Revision ID: 0301
Revises: 0001
Create Date: 2026-11-28 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0301"
down_revision = "0001"
branch_labels = ("moderation",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "moderation_token",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("item", sa.String(), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("issued_to", sa.String(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.String(), nullable=True),
        sa.Column("used_raw_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "moderation_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("item", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proof", sa.String(), nullable=True),
        sa.Column("raw_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_moderation_decision_at", "moderation_decision", ["at"])
    op.create_table(
        "deadline_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.String(), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("command", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_deadline_override_consultation_id", "deadline_override", ["consultation_id"]
    )


def downgrade() -> None:
    op.drop_table("deadline_override")
    op.drop_table("moderation_decision")
    op.drop_table("moderation_token")
