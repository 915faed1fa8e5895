"""Merchants with their API keys, idempotency keys and stock; the instance's own settings."""

from __future__ import annotations

import sqlalchemy as sa

from refundry.adapters.db.tables.base import UTC_TIME, metadata

merchants = sa.Table(
    "merchants",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    # Reports bucket days, weeks and months in the merchant's own time zone.
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    # flag or void: what the authorization watch does with a lapsing, unfulfilled hold.
    sa.Column("authorization_expiry_action", sa.String(16), nullable=False, server_default="flag"),
    # Seed 001's toggle: capture at once, or hold and capture on fulfilment.
    sa.Column("automatic_capture", sa.Boolean, nullable=False, server_default=sa.true()),
    # Seed 001's statuses after cancellation besides "cancelled": a JSON list of labels.
    sa.Column("cancel_labels", sa.Text, nullable=False, server_default="[]"),
    # How long store credit issued from now on stays spendable (null: never expires).
    sa.Column("store_credit_validity_days", sa.Integer),
)


api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), nullable=False, index=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("revoked_at", UTC_TIME),
)


stock_levels = sa.Table(
    "stock_levels",
    metadata,
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("sku", sa.String(100), primary_key=True),
    sa.Column("on_hand", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTC_TIME, nullable=False),
)


idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("body", sa.Text),
    sa.Column("created_at", UTC_TIME, nullable=False, index=True),
)


instance_settings = sa.Table(
    "instance_settings",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
