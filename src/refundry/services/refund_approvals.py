"""Four eyes: a staff member's refund above their limit waits here for an admin. Nothing
is written to the order and nothing reaches the provider until an admin approves; the
approval makes the refund as it was asked, in the same transaction as the decision."""

from __future__ import annotations

import uuid
from typing import Any

from refundry.domain.errors import ApprovalNotFound, Conflict, InvalidInput
from refundry.domain.refund import RefundMethod
from refundry.domain.refund_calculation import LineRefundRequest, RefundRequest
from refundry.domain.staff import ApprovalStatus, RefundApproval, StaffMember
from refundry.services.quotes import QuoteSigner
from refundry.services.refund_order import RefundMade, refund_order
from refundry.services.transactions import utcnow
from refundry.services.unit_of_work import UnitOfWork


def ask_for_approval(
    uow: UnitOfWork,
    member: StaffMember,
    order_id: uuid.UUID,
    request: RefundRequest,
    *,
    method: RefundMethod | None,
    reason: str | None,
) -> RefundApproval:
    """Record the refund ``member`` asked for, above their limit, for an admin to decide."""
    order = uow.orders.get(member.merchant_id, order_id)
    now = utcnow()
    amount = order.preview_refund(request, now).total  # refuses what could not be refunded
    if not member.needs_approval(amount):
        raise InvalidInput("this refund is within your limit: make it yourself")
    approval = RefundApproval(
        id=uuid.uuid4(),
        merchant_id=member.merchant_id,
        order_id=order_id,
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
    """The dashboard's Refund: made at once within the member's limit, else asked for."""
    order = uow.orders.get(member.merchant_id, order_id)
    if member.needs_approval(order.preview_refund(request, utcnow()).total):
        return ask_for_approval(uow, member, order_id, request, method=method, reason=reason)
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
        staff_member=member,
    )


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
