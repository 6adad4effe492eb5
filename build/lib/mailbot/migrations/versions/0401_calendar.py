"""calendar: sent_record (what each scheduled job sent, unique per consultation/kind/period)

Revision ID: 0401
Revises: 0001
Create Date: 2026-11-28 13:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0401"
down_revision = "0001"
branch_labels = ("calendar",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sent_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issue", sa.Integer(), nullable=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consultation_id", "kind", "period"),
    )
    op.create_index("ix_sent_record_consultation_id", "sent_record", ["consultation_id"])


def downgrade() -> None:
    op.drop_index("ix_sent_record_consultation_id", table_name="sent_record")
    op.drop_table("sent_record")
