"""Replay memory of signed requests: platform API signatures and WeChat (timestamp, nonce) pairs
within their validity window (model in `web/replay.py`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replay_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("mark", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_marks")),
        sa.UniqueConstraint("scope", "mark", name="uq_replay_marks_scope_mark"),
    )
    with op.batch_alter_table("replay_marks", schema=None) as batch_op:
        batch_op.create_index("ix_replay_marks_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("replay_marks", schema=None) as batch_op:
        batch_op.drop_index("ix_replay_marks_expires_at")
    op.drop_table("replay_marks")
