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
