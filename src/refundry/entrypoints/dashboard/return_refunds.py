"""A return's refund, like seed 003's: Review refund (the exact amounts the units that
arrived give back, the fees kept, where the money goes, bound by a quote) -> Refund, with
Edit refund to go back. The return then closes and the order shows the refund."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from refundry.domain.errors import Forbidden, NotFound, RefundryError
from refundry.domain.refund import RefundMethod
from refundry.domain.staff import Permission
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.return_forms import (
    DESTINATIONS,
    FieldInvalid,
    FieldsDep,
    FormFields,
    short_id,
)
from refundry.entrypoints.dashboard.returns import show
from refundry.entrypoints.dashboard.routes import current_session, to_login
from refundry.services import transactions
from refundry.services.handlers import returns as handlers
from refundry.services.handlers.refund_approvals import over_limit
from refundry.services.handlers.staff import Session
from refundry.services.handlers.staff_returns import refund_return_as_staff

router = APIRouter(include_in_schema=False)  # mounted at /dashboard


def _destination(fields: FormFields) -> RefundMethod:
    chosen = fields.text("destination")
    for method, _ in DESTINATIONS:
        if method.value == chosen:
            return method
    raise FieldInvalid("Choose where the money goes.", "destination")


def _refunder(request: Request, container: ContainerDep, fields: FormFields) -> Session | None:
    current = current_session(request, container)
    if current is None:
        return None
    current.check_csrf(fields.text("csrf") or None)
    current.member.require(Permission.REFUND)
    return current


@router.post("/returns/{return_id}/refund/review")
def review(
    request: Request, container: ContainerDep, return_id: uuid.UUID, fields: FieldsDep
) -> Response:
    """The amounts the refund will give back, by the calculator that makes it, and a
    quote that binds them; nothing is written."""
    current = _refunder(request, container, fields)
    if current is None:
        return to_login()
    try:
        method = _destination(fields)
        preview = transactions.read(
            container.uow_factory,
            lambda uow: handlers.preview_return_refund(
                uow, container.quotes, current.member.merchant_id, return_id, method
            ),
        )
    except (Forbidden, NotFound):
        raise
    except RefundryError as error:
        return show(request, container, current, return_id, failure=("refund", error),
                    fields=fields)  # fmt: skip
    breakdown = preview.breakdown
    shipping_fee = preview.order_return.return_shipping_fee
    return render(
        request,
        "return_refund.html",
        session=current,
        order=preview.order,
        order_return=preview.order_return,
        breakdown=breakdown,
        restocking_fee=breakdown.fees - shipping_fee,
        shipping_fee=shipping_fee,
        destination=dict(DESTINATIONS)[preview.method],
        method=preview.method,
        quote=preview.quote.token,
        reason=fields.text("reason"),
        needs_admin=over_limit(current.member, preview.order, breakdown.total),
        short_id=short_id,
    )


@router.post("/returns/{return_id}/refund/edit")
def edit(
    request: Request, container: ContainerDep, return_id: uuid.UUID, fields: FieldsDep
) -> Response:
    """Edit refund, from the review: the return page, its refund form as it was filled in."""
    current = _refunder(request, container, fields)
    if current is None:
        return to_login()
    return show(request, container, current, return_id, fields=fields)


@router.post("/returns/{return_id}/refund")
def refund(
    request: Request, container: ContainerDep, return_id: uuid.UUID, fields: FieldsDep
) -> Response:
    """Refund exactly what was reviewed: the quote is checked under the order's lock."""
    current = _refunder(request, container, fields)
    if current is None:
        return to_login()
    try:
        method = _destination(fields)
        made = transactions.run(
            container.uow_factory,
            lambda uow: refund_return_as_staff(
                uow,
                container.quotes,
                current.member,
                return_id,
                method=method,
                reason=fields.text("reason") or None,
                quote=fields.text("quote") or None,
            ),
        )
    except NotFound:
        raise
    except RefundryError as error:
        return show(request, container, current, return_id, failure=("refund", error),
                    fields=fields)  # fmt: skip
    done = f"refund-{made.refund.status.value}"
    return RedirectResponse(f"/dashboard/returns/{return_id}?done={done}", status_code=303)
