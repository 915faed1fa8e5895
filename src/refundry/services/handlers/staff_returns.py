"""A staff member refunding a return from the dashboard: the reviewed quote is checked
and the member's refund limit kept, like every staff refund (``refund_approvals``).

A return refund above the limit is refused rather than queued for approval: the approval
queue stores order refunds (lines, shipping, an amount), and a return's refund is a
different request (the return's received units, less its fees). An admin refunds it.
"""

from __future__ import annotations

import uuid

from refundry.domain.errors import InvalidInput, RefundNeedsApproval
from refundry.domain.refund import RefundMethod
from refundry.domain.returns import ReturnNotFound
from refundry.domain.staff import StaffMember
from refundry.services.clock import utcnow
from refundry.services.handlers import returns
from refundry.services.handlers.quotes import QuoteSigner
from refundry.services.handlers.refund_approvals import over_limit
from refundry.services.unit_of_work import UnitOfWork


def exchange_return_as_staff(
    uow: UnitOfWork,
    member: StaffMember,
    return_id: uuid.UUID,
    replacement: returns.ReplacementOrder,
) -> returns.ReturnExchanged:
    """An exchange gives the return's whole value away (carried to the replacement, and
    any difference refunded): within the member's refund limit, like a refund of it."""
    found = uow.orders.find_return(member.merchant_id, return_id)
    if found is None:
        raise ReturnNotFound(f"no return {return_id}", return_id=str(return_id))
    order = found[0]
    value = order.exchange_value(return_id, utcnow())
    if over_limit(member, order, value):
        raise RefundNeedsApproval(
            "this exchange gives back more than your refund limit: an admin has to make it",
            amount=value.minor,
        )
    return returns.exchange_return(
        uow, member.merchant_id, return_id, replacement, actor=member.actor
    )


def refund_return_as_staff(
    uow: UnitOfWork,
    signer: QuoteSigner,
    member: StaffMember,
    return_id: uuid.UUID,
    *,
    method: RefundMethod | None,
    reason: str | None,
    quote: str | None,
) -> returns.ReturnRefunded:
    """Refund exactly what was reviewed (the quote is checked under the order's lock),
    within the member's refund limit, or write nothing."""
    if quote is None:
        raise InvalidInput("review the refund first")
    found = uow.orders.find_return(member.merchant_id, return_id)
    if found is None:
        raise ReturnNotFound(f"no return {return_id}", return_id=str(return_id))
    order = found[0]
    amount = order.preview_return_refund(return_id, utcnow()).total
    if over_limit(member, order, amount):
        raise RefundNeedsApproval(
            "this refund is above your refund limit: an admin has to refund this return",
            amount=amount.minor,
        )
    return returns.refund_return(
        uow,
        signer,
        member.merchant_id,
        return_id,
        method=method,
        reason=reason,
        quote=quote,
        actor=member.actor,
    )
