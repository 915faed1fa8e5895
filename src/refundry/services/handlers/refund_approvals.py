"""Four eyes: a staff member's refund above their limit waits here for an admin. Nothing
is written to the order and nothing reaches the provider until an admin approves; the
approval makes the refund as it was asked, in the same transaction as the decision."""

from __future__ import annotations

import uuid
from typing import Any

from refundry.domain.errors import (
    ApprovalNotFound,
    Conflict,
    InvalidInput,
    RefundAwaitingApproval,
    RefundNeedsApproval,
)
from refundry.domain.events import OrderCancelled
from refundry.domain.money import Money
from refundry.domain.order import LineRefundRequest, Order, RefundRequest
from refundry.domain.refund import RefundMethod, sum_money
from refundry.domain.staff import ApprovalStatus, Permission, RefundApproval, StaffMember
from refundry.services.clock import utcnow
from refundry.services.handlers import cancellation
from refundry.services.handlers.cancellation import cancel_order
from refundry.services.handlers.quotes import QuoteSigner
from refundry.services.handlers.refunds import RefundMade, refund_order
from refundry.services.unit_of_work import UnitOfWork


def _ask_for_approval(
    uow: UnitOfWork,
    member: StaffMember,
    order: Order,
    request: RefundRequest,
    amount: Money,
    *,
    method: RefundMethod | None,
    reason: str | None,
) -> RefundApproval:
    """Record the refund ``member`` asked for, above their limit, for an admin to decide."""
    now = utcnow()
    approval = RefundApproval(
        id=uuid.uuid4(),
        merchant_id=member.merchant_id,
        order_id=order.id,
        requested_by=member.id,
        requested_by_email=member.email,
        request=_stored(request, order.refund_method(method)),
        amount=amount,
        reason=reason,
        created_at=now,
    )
    uow.staff.add_approval(approval)
    return approval


def refund_as_staff(
    uow: UnitOfWork,
    signer: QuoteSigner,
    member: StaffMember,
    order_id: uuid.UUID,
    request: RefundRequest,
    *,
    method: RefundMethod | None,
    reason: str | None,
    quote: str | None,
) -> RefundMade | RefundApproval:
    """The dashboard's Refund of exactly what was reviewed (the quote is checked first):
    made at once within the member's limit, else asked for. The limit counts what the
    member already refunded on this order, so splitting a refund does not get past it."""
    order = uow.orders.get(member.merchant_id, order_id)
    now = utcnow()
    breakdown = order.preview_refund(request, now)
    if quote is None:
        raise InvalidInput("review the refund first")
    signer.verify(quote, order, breakdown, order.refund_method(method), now)
    if over_limit(member, order, breakdown.total):
        if uow.staff.approvals(
            member.merchant_id, status=ApprovalStatus.PENDING, order_id=order_id
        ):
            raise RefundAwaitingApproval(
                "a refund of this order already waits for an admin's approval"
            )
        return _ask_for_approval(
            uow, member, order, request, breakdown.total, method=method, reason=reason
        )
    return refund_order(
        uow,
        signer,
        member.merchant_id,
        order_id,
        request,
        method=method,
        reason=reason,
        quote=quote,
        actor=member.actor,
    )


def over_limit(member: StaffMember, order: Order, amount: Money) -> bool:
    """Would ``amount``, with what ``member`` already gave back on this order, pass the
    member's refund limit?"""
    already = sum_money(
        (
            refund.amount
            for refund in order.refunds
            if refund.counts_against_cap and refund.created_by == member.actor
        ),
        order.currency,
    )
    return member.needs_approval(already + amount)


def approve(
    uow: UnitOfWork, signer: QuoteSigner, admin: StaffMember, approval_id: uuid.UUID
) -> RefundMade:
    """Make the refund asked for, if the order would still give back exactly that amount."""
    approval = _pending(uow, admin, approval_id)
    request, method = _restored(approval.request)
    order = uow.orders.get(admin.merchant_id, approval.order_id)
    if order.preview_refund(request, utcnow()).total != approval.amount:
        raise Conflict(
            "the order changed since this refund was asked for; reject it and ask again",
            order_id=str(order.id),
        )
    made = refund_order(
        uow,
        signer,
        admin.merchant_id,
        approval.order_id,
        request,
        method=method,
        reason=approval.reason,
        quote=None,
        actor=f"staff:{approval.requested_by}",
    )
    approval.decide(admin, ApprovalStatus.APPROVED, utcnow(), refund_id=made.refund.id)
    if not uow.staff.decide(approval):
        raise Conflict("another admin decided on this refund at the same time")
    return made


def reject(
    uow: UnitOfWork, admin: StaffMember, approval_id: uuid.UUID, note: str | None
) -> RefundApproval:
    approval = _pending(uow, admin, approval_id)
    approval.decide(admin, ApprovalStatus.REJECTED, utcnow(), note=note)
    if not uow.staff.decide(approval):
        raise Conflict("another admin decided on this refund at the same time")
    return approval


def _pending(uow: UnitOfWork, admin: StaffMember, approval_id: uuid.UUID) -> RefundApproval:
    approval = uow.staff.approval(admin.merchant_id, approval_id)
    if approval is None:
        raise ApprovalNotFound(f"no refund {approval_id} is waiting for approval")
    if approval.status is not ApprovalStatus.PENDING:
        raise InvalidInput(f"this refund was already {approval.status.value}")
    return approval


def _stored(request: RefundRequest, method: RefundMethod) -> dict[str, Any]:
    return {
        "everything": request.everything,
        "restock_all": request.restock_all,
        "lines": [[str(line.line_id), line.quantity, line.restock] for line in request.lines],
        "shipping": request.shipping,
        "amount": request.amount,
        "method": method.value,
    }


def _restored(stored: dict[str, Any]) -> tuple[RefundRequest, RefundMethod]:
    request = RefundRequest(
        lines=tuple(
            LineRefundRequest(uuid.UUID(line_id), quantity, restock)
            for line_id, quantity, restock in stored["lines"]
        ),
        shipping=stored["shipping"],
        amount=stored["amount"],
        restock_all=stored["restock_all"],
        everything=stored["everything"],
    )
    return request, RefundMethod(stored["method"])


def cancel_as_staff(
    uow: UnitOfWork,
    member: StaffMember,
    order_id: uuid.UUID,
    *,
    reason: str | None,
    status_label: str | None,
) -> Order:
    """A cancel that gives captured money back is a refund too: it needs the refund
    permission and stays within the member's limit, or nothing is written."""
    order = cancel_order(
        uow, member.merchant_id, order_id, reason=reason, status_label=status_label,
        actor=member.actor,
    )  # fmt: skip
    _check_money_given_back(member, order)
    return order


def cancel_item_as_staff(
    uow: UnitOfWork,
    member: StaffMember,
    order_id: uuid.UUID,
    item_id: uuid.UUID,
    *,
    reason: str | None,
) -> Order:
    order = cancellation.cancel_item(
        uow, member.merchant_id, order_id, item_id, reason=reason, actor=member.actor
    )
    _check_money_given_back(member, order)
    return order


def _check_money_given_back(member: StaffMember, order: Order) -> None:
    """Raised here, the whole cancel rolls back with its transaction. The cancel's own
    event names its refund (events wait on the order until the commit)."""
    refund_ids = {
        event.refund_id
        for event in order.events
        if isinstance(event, OrderCancelled) and event.refund_id is not None
    }
    new = [refund for refund in order.refunds if refund.id in refund_ids]
    if not any(refund.amount.minor for refund in new):
        return  # nothing was captured: no money moves
    member.require(Permission.REFUND)
    if over_limit(member, order, Money.zero(order.currency)):
        raise RefundNeedsApproval(
            "this cancel gives back more than your refund limit allows: an admin has to do it",
            amount=sum(refund.amount.minor for refund in new),
        )
