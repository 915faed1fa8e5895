"""Refund endpoints: preview ("review refund"), refund, and reading refunds."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from refundry.domain.order import LineRefundRequest, RefundRequest
from refundry.entrypoints.api import presenters, schemas
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.links import ORDER, link, links, order_links
from refundry.entrypoints.api.responses import json_response, mutate
from refundry.services import transactions
from refundry.services.handlers.refunds import preview_refund, refund_order
from refundry.services.views import orders as order_views

router = APIRouter(prefix="/v1", tags=["refunds"])


def _refund_request(body: schemas.RefundIn) -> RefundRequest:
    if body.lines is None and body.shipping is None and body.amount is None:
        return RefundRequest.full()
    return RefundRequest(
        lines=tuple(
            LineRefundRequest(line.line_id, line.quantity, line.restock)
            for line in body.lines or ()
        ),
        shipping=body.shipping,
        amount=body.amount,
    )


@router.post(
    "/orders/{order_id}/refund/preview",
    response_model=schemas.RefundPreviewOut,
    responses=links(
        200,
        RefundAsPreviewed=link(
            "POST",
            f"{ORDER}/refund",
            "Make the refund with the preview's quote (the same request commits it)",
            order_id="$response.body#/order_id",
            request_body={"quote": "$response.body#/quote"},
        ),
        **order_links("RefundOrder", "CancelOrder", order_id="$response.body#/order_id"),
    ),
)
def preview(
    order_id: uuid.UUID,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.RefundIn | None = None,
) -> Response:
    """Compute a refund without making it; the quote commits exactly these amounts.

    Preview writes nothing, so it is idempotent by nature: an Idempotency-Key is
    accepted (clients may send one on every POST) and not needed.
    """
    del idempotency_key
    body = body or schemas.RefundIn()
    result = transactions.read(
        container.uow_factory,
        lambda uow: preview_refund(
            uow,
            container.quotes,
            caller.merchant_id,
            order_id,
            _refund_request(body),
            body.method,
        ),
    )
    return json_response(presenters.present_preview(result))


@router.post(
    "/orders/{order_id}/refund",
    status_code=201,
    response_model=schemas.RefundCreatedOut,
    responses=links(
        201,
        GetRefund=link(
            "GET", "/v1/refunds/{refund_id}", "Read the refund", refund_id="$response.body#/id"
        ),
        **order_links(
            "GetOrder",
            "ListRefunds",
            "PreviewRefund",
            "RefundOrder",
            "CancelOrder",
            order_id="$response.body#/order_id",
        ),
    ),
)
def refund(
    order_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.RefundIn | None = None,
) -> Response:
    """Refund all (empty body) or part: lines and quantities, shipping, and/or an amount."""
    body = body or schemas.RefundIn()
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: refund_order(
            uow,
            container.quotes,
            caller.merchant_id,
            order_id,
            _refund_request(body),
            method=body.method,
            reason=body.reason,
            quote=body.quote,
            actor=caller.actor,
        ),
        present=presenters.present_refund_made,
        status_code=201,
    )


@router.get("/orders/{order_id}/refunds", response_model=schemas.RefundListOut)
def list_refunds(order_id: uuid.UUID, container: ContainerDep, caller: CallerDep) -> Response:
    order = transactions.query(
        container.read_models,
        lambda read: order_views.get_order(read, caller.merchant_id, order_id),
    )
    return json_response(presenters.present_refunds(order))


@router.get("/refunds/{refund_id}", response_model=schemas.RefundOut)
def get_refund(refund_id: uuid.UUID, container: ContainerDep, caller: CallerDep) -> Response:
    order, found = transactions.query(
        container.read_models,
        lambda read: order_views.get_refund(read, caller.merchant_id, refund_id),
    )
    return json_response(presenters.present_refund(order, found))
