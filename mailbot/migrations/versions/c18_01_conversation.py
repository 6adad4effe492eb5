"""conversation: contributions delivered through a list, complaints (feedback reports)

Revision ID: c18_01
Revises: 0001
Create Date: 2026-12-01 15:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c18_01"
down_revision = "0001"
branch_labels = ("conversation",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contribution") as batch:
        batch.add_column(sa.Column("via_list", sa.String(), nullable=True))
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=True),
        sa.Column("feedback_type", sa.String(), nullable=False),
        sa.Column("reporter", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["raw_id"], ["raw_message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("raw_id"),
    )
    op.create_index("ix_complaint_recipient", "complaint", ["recipient"])


def downgrade() -> None:
    op.drop_index("ix_complaint_recipient", table_name="complaint")
    op.drop_table("complaint")
    with op.batch_alter_table("contribution") as batch:
        batch.drop_column("via_list")
