"""authorization expiry, the watch's flag and the merchant's expiry action

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "authorization_expiry_action",
                sa.String(length=16),
                server_default="flag",
                nullable=False,
            )
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("authorization_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("authorization_flagged_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_orders_authorization_state_authorization_expires_at",
            ["authorization_state", "authorization_expires_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_authorization_state_authorization_expires_at")
        batch_op.drop_column("authorization_flagged_at")
        batch_op.drop_column("authorization_expires_at")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("authorization_expiry_action")
