"""imap: the IMAP position (account, folder, UIDVALIDITY, last UID)

Revision ID: 0101_imap
Revises: 0001
Create Date: 2026-11-28 13:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0101_imap"
down_revision = "0001"
branch_labels = ("imap",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imap_position",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("folder", sa.String(), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "folder"),
    )


def downgrade() -> None:
    op.drop_table("imap_position")
