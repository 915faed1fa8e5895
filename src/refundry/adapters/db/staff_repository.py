"""Dashboard users and their sessions."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.engine import conflict_insert
from refundry.adapters.db.order_rows import aware, utc
from refundry.adapters.db.tables import staff as staff_tables
from refundry.domain.money import Currency, Money
from refundry.domain.staff import (
    ApprovalStatus,
    Permission,
    RefundApproval,
    Role,
    StaffMember,
)

users = staff_tables.staff_users
approvals = staff_tables.refund_approvals
sessions = staff_tables.staff_sessions
failures = staff_tables.sign_in_failures


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

    def sign_in_locked_until(self, email: str, now: datetime) -> datetime | None:
        until = self._connection.execute(
            sa.select(failures.c.locked_until).where(failures.c.email == email)
        ).scalar_one_or_none()
        return None if until is None or utc(until) <= now else utc(until)

    def note_failed_sign_in(
        self, email: str, now: datetime, lock_after: int, lock_for: timedelta
    ) -> bool:
        """Count a failure in one atomic statement (concurrent attempts each count);
        lock the email when it makes ``lock_after`` in a row. ``True`` if it locked."""
        insert = conflict_insert(self._connection, failures).values(
            email=email, failures=1, last_failed_at=now, locked_until=None
        )
        stale = failures.c.last_failed_at < now - lock_for  # an old streak starts again
        count = self._connection.execute(
            insert.on_conflict_do_update(
                index_elements=["email"],
                set_={
                    "failures": sa.case((stale, 1), else_=failures.c.failures + 1),
                    "last_failed_at": now,
                },
            ).returning(failures.c.failures)
        ).scalar_one()
        if count < lock_after:
            return False
        self._connection.execute(
            failures.update()
            .where(failures.c.email == email)
            .values(failures=0, locked_until=now + lock_for)
        )
        return True

    def clear_failed_sign_ins(self, email: str) -> None:
        self._connection.execute(failures.delete().where(failures.c.email == email))

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

    def members(self, merchant_id: uuid.UUID) -> list[StaffMember]:
        rows = self._connection.execute(
            sa.select(users).where(users.c.merchant_id == merchant_id).order_by(users.c.email)
        ).mappings()
        return [_member(row) for row in rows]

    def set_access(self, member: StaffMember) -> None:
        limit = member.refund_limit
        self._connection.execute(
            sa.update(users)
            .where(users.c.id == member.id, users.c.merchant_id == member.merchant_id)
            .values(
                permissions=" ".join(sorted(p.value for p in member.permissions)),
                refund_limit=None if limit is None else limit.minor,
                refund_limit_currency=None if limit is None else limit.currency.code,
            )
        )

    def add_approval(self, approval: RefundApproval) -> None:
        self._connection.execute(sa.insert(approvals).values(_approval_row(approval)))

    def approval(self, merchant_id: uuid.UUID, approval_id: uuid.UUID) -> RefundApproval | None:
        row = (
            self._connection.execute(
                sa.select(approvals).where(
                    approvals.c.id == approval_id, approvals.c.merchant_id == merchant_id
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _approval(row)

    def approvals(
        self,
        merchant_id: uuid.UUID,
        *,
        status: ApprovalStatus | None = None,
        order_id: uuid.UUID | None = None,
        limit: int = 100,
    ) -> list[RefundApproval]:
        query = sa.select(approvals).where(approvals.c.merchant_id == merchant_id)
        if status is not None:
            query = query.where(approvals.c.status == status.value)
        if order_id is not None:
            query = query.where(approvals.c.order_id == order_id)
        rows = self._connection.execute(
            query.order_by(approvals.c.created_at).limit(limit)
        ).mappings()
        return [_approval(row) for row in rows]

    def decide(self, approval: RefundApproval) -> bool:
        """Record a decision made on a pending approval; ``False`` if another was faster."""
        row = _approval_row(approval)
        result = self._connection.execute(
            sa.update(approvals)
            .where(
                approvals.c.id == approval.id,
                approvals.c.status == ApprovalStatus.PENDING.value,
            )
            .values(
                {
                    key: row[key]
                    for key in (
                        "status", "decided_by_email", "decided_at", "decision_note", "refund_id"
                    )
                }
            )
        )  # fmt: skip
        return result.rowcount == 1


def _approval_row(approval: RefundApproval) -> dict[str, Any]:
    return {
        "id": approval.id,
        "merchant_id": approval.merchant_id,
        "order_id": approval.order_id,
        "requested_by": approval.requested_by,
        "requested_by_email": approval.requested_by_email,
        "request": json.dumps(approval.request, sort_keys=True),
        "amount": approval.amount.minor,
        "currency": approval.amount.currency.code,
        "reason": approval.reason,
        "status": approval.status.value,
        "created_at": approval.created_at,
        "decided_by_email": approval.decided_by_email,
        "decided_at": approval.decided_at,
        "decision_note": approval.decision_note,
        "refund_id": approval.refund_id,
    }


def _approval(row: sa.RowMapping) -> RefundApproval:
    return RefundApproval(
        id=row["id"],
        merchant_id=row["merchant_id"],
        order_id=row["order_id"],
        requested_by=row["requested_by"],
        requested_by_email=row["requested_by_email"],
        request=json.loads(row["request"]),
        amount=Money(row["amount"], Currency.of(row["currency"])),
        reason=row["reason"],
        created_at=utc(row["created_at"]),
        status=ApprovalStatus(row["status"]),
        decided_by_email=row["decided_by_email"],
        decided_at=aware(row["decided_at"]),
        decision_note=row["decision_note"],
        refund_id=row["refund_id"],
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
