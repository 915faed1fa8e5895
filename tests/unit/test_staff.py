"""Dashboard roles, permissions, refund limits and the four-eyes rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from refundry.domain.errors import Forbidden, InvalidInput
from refundry.domain.money import Currency, Money
from refundry.domain.staff import (
    ApprovalStatus,
    Permission,
    RefundApproval,
    Role,
    StaffMember,
)

EUR = Currency.of("EUR")
NOW = datetime(2026, 11, 23, tzinfo=UTC)
MERCHANT = uuid.uuid4()


def member(role: Role, *permissions: Permission, limit: int | None = None) -> StaffMember:
    return StaffMember(
        uuid.uuid4(),
        MERCHANT,
        f"{uuid.uuid4().hex[:6]}@shop.example",
        role,
        frozenset(permissions),
        NOW,
        None if limit is None else Money(limit, EUR),
    )


def test_an_admin_may_do_everything_and_staff_only_what_was_granted() -> None:
    admin, clerk = member(Role.ADMIN), member(Role.STAFF, Permission.CANCEL)
    assert all(admin.can(permission) for permission in Permission)
    assert clerk.can(Permission.CANCEL)
    assert not clerk.can(Permission.REFUND)
    with pytest.raises(Forbidden, match="refund permission"):
        clerk.require(Permission.REFUND)


@pytest.mark.parametrize(
    ("limit", "amount", "needs"),
    [(None, 10**9, False), (5000, 5000, False), (5000, 5001, True)],
)
def test_a_refund_above_a_staff_limit_needs_an_admin(
    limit: int | None, amount: int, needs: bool
) -> None:
    assert member(Role.STAFF, limit=limit).needs_approval(Money(amount, EUR)) is needs
    assert not member(Role.ADMIN, limit=limit).needs_approval(Money(amount, EUR))
    usd = Money(1, Currency.of("USD"))
    assert member(Role.STAFF, limit=5000).needs_approval(usd)  # a limit cannot vouch across


def approval_by(requester: StaffMember) -> RefundApproval:
    return RefundApproval(
        uuid.uuid4(), MERCHANT, uuid.uuid4(), requester.id, requester.email, {},
        Money(9000, EUR), "late", NOW,
    )  # fmt: skip


def test_four_eyes_another_admin_of_the_same_merchant_decides_once() -> None:
    clerk = member(Role.STAFF, Permission.REFUND, limit=5000)
    approval = approval_by(clerk)
    with pytest.raises(Forbidden):
        approval.decide(clerk, ApprovalStatus.APPROVED, NOW)
    stranger = StaffMember(uuid.uuid4(), uuid.uuid4(), "x@other.example", Role.ADMIN,
                           frozenset(), NOW)  # fmt: skip
    with pytest.raises(Forbidden):
        approval.decide(stranger, ApprovalStatus.APPROVED, NOW)
    admin = member(Role.ADMIN)
    own = approval_by(admin)
    with pytest.raises(Forbidden, match="four eyes"):
        own.decide(admin, ApprovalStatus.APPROVED, NOW)
    approval.decide(admin, ApprovalStatus.REJECTED, NOW, note="not ours")
    assert (approval.status, approval.decided_by_email) == (ApprovalStatus.REJECTED, admin.email)
    with pytest.raises(InvalidInput):
        approval.decide(admin, ApprovalStatus.APPROVED, NOW)
