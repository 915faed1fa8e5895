"""payment references, refund provider references and the outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_reference", sa.String(length=255), nullable=True))

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_reference", sa.String(length=255), nullable=True))
        batch_op.create_index("ix_refunds_provider_reference", ["provider_reference"], unique=False)

    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index("ix_outbox_messages_state_run_after", "outbox_messages", ["state", "run_after"])
    op.create_index("ix_outbox_messages_order_id", "outbox_messages", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_order_id", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_state_run_after", table_name="outbox_messages")
    op.drop_table("outbox_messages")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_provider_reference")
        batch_op.drop_column("provider_reference")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("payment_reference")
