"""The port dashboard users and sessions are read and written through."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Protocol

from refundry.domain.staff import ApprovalStatus, RefundApproval, StaffMember


class StaffRepository(Protocol):
    def add(self, member: StaffMember, password_hash: str) -> None: ...
    def by_email(self, email: str) -> tuple[StaffMember, str] | None:
        """The member and their password hash."""

    def sign_in_locked_until(self, email: str, now: datetime) -> datetime | None:
        """When the email's lockout ends, if it is locked out now."""

    def note_failed_sign_in(
        self, email: str, now: datetime, lock_after: int, lock_for: timedelta
    ) -> bool: ...
    def clear_failed_sign_ins(self, email: str) -> None: ...
    def add_session(
        self,
        token_hash: str,
        user_id: uuid.UUID,
        csrf_token: str,
        now: datetime,
        expires_at: datetime,
    ) -> None: ...
    def session(self, token_hash: str, now: datetime) -> tuple[StaffMember, str] | None:
        """The signed-in member and the session's CSRF token, unless it expired."""

    def end_session(self, token_hash: str) -> None: ...
    def end_expired_sessions(self, user_id: uuid.UUID, now: datetime) -> None: ...
    def members(self, merchant_id: uuid.UUID) -> list[StaffMember]: ...
    def set_access(self, member: StaffMember) -> None: ...
    def add_approval(self, approval: RefundApproval) -> None: ...
    def approval(self, merchant_id: uuid.UUID, approval_id: uuid.UUID) -> RefundApproval | None: ...
    def approvals(
        self,
        merchant_id: uuid.UUID,
        *,
        status: ApprovalStatus | None = None,
        order_id: uuid.UUID | None = None,
        limit: int = 100,
    ) -> list[RefundApproval]: ...
    def decide(self, approval: RefundApproval) -> bool:
        """Record a decision made on a pending approval; ``False`` if another was faster."""
