"""The dashboard's people: staff users, their sessions, failed sign-ins, refunds
waiting for an admin's approval, and each member's saved views of the lists."""

from __future__ import annotations

import sqlalchemy as sa

from refundry.adapters.db.tables.base import UTC_TIME, metadata

# The merchant's people in the dashboard. The email is the login, unique everywhere.
staff_users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), nullable=False, index=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),  # case folded
    sa.Column("password_hash", sa.String(200), nullable=False),  # argon2id, with its salt
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("permissions", sa.String(200), nullable=False),  # space-separated
    sa.Column("refund_limit", sa.BigInteger),  # minor units of refund_limit_currency
    sa.Column("refund_limit_currency", sa.String(3)),
    sa.Column("created_at", UTC_TIME, nullable=False),
)


# Signed-in browsers: the cookie holds a random token, the table its SHA-256, so a copy
# of the database opens no session. Each session has its own CSRF token.
staff_sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("staff_users.id"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("expires_at", UTC_TIME, nullable=False),
)


# Failed dashboard sign-ins by email, known or not (a lockout must not tell which
# accounts exist); ``locked_until`` refuses every attempt until then.
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),  # case folded
    sa.Column("failures", sa.Integer, nullable=False),  # in a row, since the last lock
    sa.Column("last_failed_at", UTC_TIME, nullable=False),
    sa.Column("locked_until", UTC_TIME),
)


# Four eyes: staff refunds above the member's limit, waiting for an admin.
refund_approvals = sa.Table(
    "refund_approvals",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("requested_by", sa.Uuid, sa.ForeignKey("staff_users.id"), nullable=False),
    sa.Column("requested_by_email", sa.String(320), nullable=False),
    sa.Column("request", sa.Text, nullable=False),  # JSON
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("decided_by_email", sa.String(320)),
    sa.Column("decided_at", UTC_TIME),
    sa.Column("decision_note", sa.Text),
    sa.Column("refund_id", sa.Uuid),
    sa.Index(None, "merchant_id", "status", "created_at"),
)


# A member's saved views of a list (Orders, Returns): its choices, one column each, never
# a URL. ``name_key`` is the name case folded: one name per member and list, in any case.
saved_views = sa.Table(
    "saved_views",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("staff_user_id", sa.Uuid, sa.ForeignKey("staff_users.id"), nullable=False),
    sa.Column("listing", sa.String(16), nullable=False),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("name_key", sa.String(160), nullable=False),  # folding can lengthen a name
    sa.Column("status", sa.String(32)),
    sa.Column("search", sa.String(320)),
    sa.Column("sort", sa.String(32)),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.UniqueConstraint("staff_user_id", "listing", "name_key"),
)
