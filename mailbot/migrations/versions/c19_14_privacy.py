"""privacy: publication choice, organisation and erasure per contribution; the erasure log

Revision ID: c19_14
Revises: c19_13
Create Date: 2026-12-01 17:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c19_14"
down_revision = "c19_13"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contribution") as batch:
        batch.add_column(
            sa.Column("publication", sa.String(), nullable=True, server_default="name")
        )
        batch.add_column(sa.Column("organisation", sa.String(), nullable=True))
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_contribution_publication", ["publication"])
    with op.batch_alter_table("contribution") as batch:
        batch.alter_column("publication", server_default=None)
    op.create_table(
        "erasure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=True),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("address_sha256", sa.String(length=64), nullable=True),
        sa.Column("message_ids", sa.JSON(), nullable=False),
        sa.Column("followed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_erasure_followed_at", "erasure", ["followed_at"])


def downgrade() -> None:
    op.drop_index("ix_erasure_followed_at", table_name="erasure")
    op.drop_table("erasure")
    with op.batch_alter_table("contribution") as batch:
        batch.drop_index("ix_contribution_publication")
        batch.drop_column("erased_at")
        batch.drop_column("organisation")
        batch.drop_column("publication")
