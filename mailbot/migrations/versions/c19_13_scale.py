"""scale: claims with leases on stored messages and outbox rows; process heartbeats

Revision ID: c19_13
Revises: c18_01
Create Date: 2026-12-01 17:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c19_13"
down_revision = "c18_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("raw_message", "outbox_message"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("claimed_by", sa.String(), nullable=True))
            batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "heartbeat",
        sa.Column("process", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leads", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("process", "role"),
    )
    op.create_index("ix_heartbeat_beat_at", "heartbeat", ["beat_at"])


def downgrade() -> None:
    op.drop_index("ix_heartbeat_beat_at", table_name="heartbeat")
    op.drop_table("heartbeat")
    for table in ("raw_message", "outbox_message"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("claimed_until")
            batch.drop_column("claimed_by")
