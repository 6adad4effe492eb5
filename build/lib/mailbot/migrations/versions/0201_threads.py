"""threads: the thread table and the Message-IDs each contribution names

Revision ID: 0201
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0201"
down_revision = "0001"
branch_labels = ("threads",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subject_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("root_contribution_id", sa.Integer(), nullable=True),
        sa.Column("root_message_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("first_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_thread_consultation_id", "thread", ["consultation_id"])
    op.create_index("ix_thread_topic", "thread", ["topic"])
    op.create_index("ix_thread_last_activity", "thread", ["last_activity"])
    op.create_index("ix_thread_subject_key", "thread", ["subject_key", "topic"])
    op.create_table(
        "thread_ref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=900), nullable=False),
        sa.ForeignKeyConstraint(["contribution_id"], ["contribution.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_thread_ref_contribution_id", "thread_ref", ["contribution_id"])
    op.create_index("ix_thread_ref_message_id", "thread_ref", ["message_id"])


def downgrade() -> None:
    op.drop_table("thread_ref")
    op.drop_table("thread")
