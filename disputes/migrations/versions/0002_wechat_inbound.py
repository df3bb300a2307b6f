"""WeChat bookkeeping: MsgId de-duplication of inbound pushes and claims of outbound pushes
(models in `web/wechat_store.py`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("msg_id", sa.String(length=64), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("msg_type", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_inbound")),
        sa.UniqueConstraint("msg_id", name=op.f("uq_wechat_inbound_msg_id")),
    )
    with op.batch_alter_table("wechat_inbound", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wechat_inbound_openid"), ["openid"], unique=False)

    op.create_table(
        "wechat_outbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"],
                                name=op.f("fk_wechat_outbound_notification_id_notifications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_outbound")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_wechat_outbound_notification_id")),
    )


def downgrade() -> None:
    op.drop_table("wechat_outbound")
    with op.batch_alter_table("wechat_inbound", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_inbound_openid"))
    op.drop_table("wechat_inbound")
