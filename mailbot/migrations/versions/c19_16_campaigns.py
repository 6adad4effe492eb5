"""campaigns: a MinHash signature and cluster per contribution, and the LSH band keys

Revision ID: c19_16
Revises: c19_14
Create Date: 2026-12-01 17:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c19_16"
down_revision = "c19_14"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_member",
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["contribution_id"], ["contribution.id"]),
        sa.PrimaryKeyConstraint("contribution_id"),
    )
    op.create_index("ix_campaign_member_campaign_id", "campaign_member", ["campaign_id"])
    op.create_table(
        "campaign_band",
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contribution_id"], ["contribution.id"]),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("campaign_band")
    op.drop_index("ix_campaign_member_campaign_id", table_name="campaign_member")
    op.drop_table("campaign_member")
