"""Dashboard users and their sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from refundry.adapters.db import tables as t
from refundry.adapters.db.order_rows import utc
from refundry.domain.money import Currency, Money
from refundry.domain.staff import Permission, Role, StaffMember

users = t.staff_users
sessions = t.staff_sessions


class SqlStaffRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, member: StaffMember, password_hash: str) -> None:
        limit = member.refund_limit
        self._connection.execute(
            sa.insert(users).values(
                id=member.id,
                merchant_id=member.merchant_id,
                email=member.email,
                password_hash=password_hash,
                role=member.role.value,
                permissions=" ".join(sorted(p.value for p in member.permissions)),
                refund_limit=None if limit is None else limit.minor,
                refund_limit_currency=None if limit is None else limit.currency.code,
                created_at=member.created_at,
            )
        )

    def by_email(self, email: str) -> tuple[StaffMember, str] | None:
        row = self._connection.execute(sa.select(users).where(users.c.email == email)).first()
        return None if row is None else (_member(row._mapping), row.password_hash)

    def add_session(
        self,
        token_hash: str,
        user_id: uuid.UUID,
        csrf_token: str,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        self._connection.execute(
            sa.insert(sessions).values(
                token_hash=token_hash,
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=now,
                expires_at=expires_at,
            )
        )

    def session(self, token_hash: str, now: datetime) -> tuple[StaffMember, str] | None:
        row = self._connection.execute(
            sa.select(users, sessions.c.csrf_token)
            .join(sessions, sessions.c.user_id == users.c.id)
            .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now)
        ).first()
        return None if row is None else (_member(row._mapping), row.csrf_token)

    def end_session(self, token_hash: str) -> None:
        self._connection.execute(sa.delete(sessions).where(sessions.c.token_hash == token_hash))

    def end_expired_sessions(self, user_id: uuid.UUID, now: datetime) -> None:
        self._connection.execute(
            sa.delete(sessions).where(sessions.c.user_id == user_id, sessions.c.expires_at <= now)
        )


def _member(row: sa.RowMapping) -> StaffMember:
    limit = row["refund_limit"]
    return StaffMember(
        id=row["id"],
        merchant_id=row["merchant_id"],
        email=row["email"],
        role=Role(row["role"]),
        permissions=frozenset(Permission(p) for p in row["permissions"].split()),
        created_at=utc(row["created_at"]),
        refund_limit=(
            None if limit is None else Money(limit, Currency.of(row["refund_limit_currency"]))
        ),
    )
