"""A return's money: previewing and making its refund, or exchanging it for a replacement
order (the goods side, from request to receipt, is ``routes_returns``)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from refundry.domain.refund import RefundMethod
from refundry.entrypoints.api import presenters
from refundry.entrypoints.api import schemas_returns as schemas
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.responses import json_response, mutate
from refundry.entrypoints.api.routes_orders import new_lines
from refundry.entrypoints.api.routes_returns import return_model
from refundry.entrypoints.api.schemas import ShippingIn
from refundry.services import transactions
from refundry.services.handlers import returns as handlers
from refundry.services.views.documents import breakdown_document, refund_document

router = APIRouter(prefix="/v1", tags=["returns"])

METHOD_BY_DESTINATION = {
    schemas.RefundDestination.ORIGINAL: RefundMethod.ORIGINAL,
    schemas.RefundDestination.STORE_CREDIT: RefundMethod.STORE_CREDIT,
    schemas.RefundDestination.OTHER: RefundMethod.OTHER,
}


@router.post("/returns/{return_id}/refund/preview", response_model=schemas.ReturnRefundPreviewOut)
def preview_return_refund(
    return_id: uuid.UUID,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.ReturnRefundIn | None = None,
) -> Response:
    """What refunding the units that arrived gives back, fees kept; writes nothing. The
    quote commits exactly these amounts."""
    del idempotency_key  # a preview writes nothing: idempotent by nature
    body = body or schemas.ReturnRefundIn()
    preview = transactions.read(
        container.uow_factory,
        lambda uow: handlers.preview_return_refund(
            uow,
            container.quotes,
            caller.merchant_id,
            return_id,
            METHOD_BY_DESTINATION[body.destination],
        ),
    )
    refundable = preview.order.refundable
    return json_response(
        schemas.ReturnRefundPreviewOut(
            **breakdown_document(preview.order, preview.breakdown),
            return_id=preview.order_return.id,
            order_id=preview.order.id,
            destination=body.destination,
            refundable_before=refundable.minor,
            refundable_after=(refundable - preview.breakdown.total).minor,
            quote=preview.quote.token,
            quote_expires_at=preview.quote.expires_at,
        ).model_dump(mode="json")
    )


@router.post("/returns/{return_id}/refund", status_code=201, response_model=schemas.ReturnRefundOut)
def refund_return(
    return_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.ReturnRefundIn | None = None,
) -> Response:
    """Refund the units that arrived, less the return's fees, and close the return. Units
    that never arrived are released."""
    body = body or schemas.ReturnRefundIn()

    def present(done: handlers.ReturnRefunded) -> dict[str, Any]:
        return schemas.ReturnRefundOut.model_validate(
            {
                "return": return_model(done.order, done.order_return),
                "refund": refund_document(done.order, done.refund),
                "order": presenters.order_model(done.order),
            }
        ).model_dump(mode="json", by_alias=True)

    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: handlers.refund_return(
            uow,
            container.quotes,
            caller.merchant_id,
            return_id,
            method=METHOD_BY_DESTINATION[body.destination],
            reason=body.reason,
            quote=body.quote,
            actor=caller.actor,
        ),
        present=present,
        status_code=201,
    )


@router.post(
    "/returns/{return_id}/exchange", status_code=201, response_model=schemas.ReturnExchangeOut
)
def exchange_return(
    return_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.ExchangeIn,
) -> Response:
    """Exchange what arrived for a replacement order, paid by the return's value (fees
    kept): the return closes as exchanged, the replacement is placed for the same customer,
    and the difference is refunded (return worth more) or owed (replacement worth more: the
    replacement is pending until paid, unless `difference_paid`)."""
    shipping = body.shipping or ShippingIn()
    replacement = handlers.ReplacementOrder(
        lines=new_lines(body.lines),
        shipping_amount=shipping.amount,
        shipping_tax=shipping.tax,
        external_id=body.external_id,
        payment_reference=body.payment_reference,
        difference_paid=body.difference_paid,
    )

    def present(done: handlers.ReturnExchanged) -> dict[str, Any]:
        rest = done.difference_refunded
        return schemas.ReturnExchangeOut.model_validate(
            {
                "return": return_model(done.order, done.order_return),
                "replacement_order": presenters.order_model(done.replacement),
                "carried": refund_document(done.order, done.carried),
                "difference_refunded": None if rest is None else refund_document(done.order, rest),
                "difference_owed": done.difference_owed.minor,
            }
        ).model_dump(mode="json", by_alias=True)

    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: handlers.exchange_return(
            uow, caller.merchant_id, return_id, replacement, actor=caller.actor
        ),
        present=present,
        status_code=201,
    )
