"""outbox messages keep the W3C trace context of the change that wrote them

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: adding them rewrites no row, and messages written with
    # tracing off (or before this) simply start a new trace in the worker.
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("traceparent", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("tracestate", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("tracestate")
        batch_op.drop_column("traceparent")
