"""The merchant's people in the dashboard: roles, permissions and refund limits.

An ``admin`` may do everything and grants ``staff`` the permissions they need. A staff
member's refund limit is the largest refund they may make alone; above it, the refund
waits for an admin's approval before any money moves (four eyes). Every check is made on
the server, against these rules: a hidden button is not a permission.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from refundry.domain.errors import Forbidden, InvalidInput
from refundry.domain.money import Money

MAX_EMAIL = 320


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"


class Permission(StrEnum):
    REFUND = "refund"
    CANCEL = "cancel"
    REPORTS = "reports"
    WEBHOOKS = "webhooks"


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: uuid.UUID
    merchant_id: uuid.UUID
    email: str
    role: Role
    permissions: frozenset[Permission]
    created_at: datetime
    refund_limit: Money | None = None  # staff only; None: no limit

    def __post_init__(self) -> None:
        if "@" not in self.email or not 3 <= len(self.email) <= MAX_EMAIL:
            raise InvalidInput("a dashboard user's email must be an email address")

    @property
    def actor(self) -> str:
        """How the ledger and webhooks name this person."""
        return f"staff:{self.id}"

    def can(self, permission: Permission) -> bool:
        return self.role is Role.ADMIN or permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(
                f"you need the {permission.value} permission; an admin can grant it",
                permission=permission.value,
            )

    def needs_approval(self, amount: Money) -> bool:
        """A refund above a staff member's limit waits for an admin."""
        if self.role is Role.ADMIN or self.refund_limit is None:
            return False
        if amount.currency != self.refund_limit.currency:
            return True  # a limit in another currency cannot vouch for this amount
        return amount > self.refund_limit


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(slots=True)
class RefundApproval:
    """A staff member's refund above their limit, waiting for an admin (four eyes). No
    money moves until an admin approves it; the refund is then made as it was asked."""

    id: uuid.UUID
    merchant_id: uuid.UUID
    order_id: uuid.UUID
    requested_by: uuid.UUID
    requested_by_email: str
    request: dict[str, object]  # the refund asked for, as the dashboard's form said it
    amount: Money  # what the review showed; approval refuses if the order changed it
    reason: str | None
    created_at: datetime
    status: ApprovalStatus = ApprovalStatus.PENDING
    decided_by_email: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    refund_id: uuid.UUID | None = None

    def decide(
        self,
        admin: StaffMember,
        outcome: ApprovalStatus,
        now: datetime,
        note: str | None = None,
        refund_id: uuid.UUID | None = None,
    ) -> None:
        if admin.role is not Role.ADMIN:
            raise Forbidden("only an admin approves or rejects a refund above a limit")
        if admin.merchant_id != self.merchant_id:
            raise Forbidden("this refund is not your merchant's")
        if self.status is not ApprovalStatus.PENDING:
            raise InvalidInput(f"this refund was already {self.status.value}")
        if admin.id == self.requested_by:
            raise Forbidden("four eyes: another admin has to approve your own refund")
        self.status = outcome
        self.decided_by_email = admin.email
        self.decided_at = now
        self.decision_note = note
        self.refund_id = refund_id
