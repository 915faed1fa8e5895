"""staff members' saved views of the Orders and Returns lists

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("staff_user_id", sa.Uuid(), nullable=False),
        sa.Column("listing", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("name_key", sa.String(length=160), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("search", sa.String(length=320), nullable=True),
        sa.Column("sort", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_saved_views_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_saved_views_staff_user_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        # also the index of a member's views on a list
        sa.UniqueConstraint(
            "staff_user_id",
            "listing",
            "name_key",
            name=op.f("uq_saved_views_staff_user_id_listing_name_key"),
        ),
    )


def downgrade() -> None:
    op.drop_table("saved_views")
