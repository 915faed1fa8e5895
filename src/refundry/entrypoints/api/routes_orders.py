"""Order endpoints: ingest, read, search, authorize, capture, fulfil, cancel."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from refundry.domain.order import Customer, NewLine
from refundry.entrypoints.api import fields, presenters, schemas
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.links import links, order_links
from refundry.entrypoints.api.responses import json_response, mutate
from refundry.services import transactions
from refundry.services.handlers import cancellation, orders
from refundry.services.handlers.cancellation import cancel_order
from refundry.services.views import orders as order_views

router = APIRouter(prefix="/v1/orders", tags=["orders"])


def new_lines(lines: Sequence[schemas.LineIn]) -> list[NewLine]:
    """The lines of a new order (a checkout's, or an exchange's replacement) as sent."""
    return [
        NewLine(
            sku=line.sku,
            name=line.name,
            kind=line.kind,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount,
            tax=line.tax,
            link_expires_at=line.link_expires_at,
        )
        for line in lines
    ]


@router.post(
    "",
    status_code=201,
    response_model=schemas.OrderOut,
    responses=links(
        201,
        **order_links(
            "GetOrder",
            "AuthorizeOrder",
            "CaptureOrder",
            "FulfilOrder",
            "CancelOrder",
            "CancelItem",
            "CancelLink",
            "SpendLink",
            "PreviewRefund",
            "RefundOrder",
            "ListRefunds",
        ),
    ),
)
def create_order(
    body: schemas.OrderIn,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Ingest an order as the merchant's checkout placed it."""
    shipping = body.shipping or schemas.ShippingIn()
    command = orders.PlaceOrder(
        merchant_id=caller.merchant_id,
        external_id=body.external_id,
        customer=Customer(body.customer.email, body.customer.external_id),
        currency_code=body.currency,
        lines=new_lines(body.lines),
        shipping_amount=shipping.amount,
        shipping_tax=shipping.tax,
        payment_method=body.payment.method,
        capture_mode=body.payment.capture,
        authorized=body.payment.authorized,
        captured=body.payment.captured,
        payment_reference=body.payment.reference,
        authorization_validity=container.settings.authorization_validity,
        points_redeemed=None if body.payment.points is None else body.payment.points.redeemed,
        points_value=None if body.payment.points is None else body.payment.points.value,
        store_credit=(
            None if body.payment.store_credit is None else body.payment.store_credit.amount
        ),
        actor=caller.actor,
    )
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: orders.ingest_order(uow, command),
        present=presenters.present_order,
        status_code=201,
    )


@router.get("", response_model=schemas.OrderListOut)
def list_orders(
    container: ContainerDep,
    caller: CallerDep,
    query: Annotated[
        fields.Text[Annotated[str, Field(max_length=320)]] | None,
        Query(description="order id, external id or customer e-mail; blank lists every order"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    search = (query or "").strip() or None  # a blank search box means "no filter"
    found = transactions.query(
        container.read_models,
        lambda read: order_views.search_orders(
            read, caller.merchant_id, search, limit=limit, offset=offset
        ),
    )
    return json_response(presenters.present_orders(found, limit=limit, offset=offset))


@router.get("/{order_id}", response_model=schemas.OrderOut)
def get_order(order_id: uuid.UUID, container: ContainerDep, caller: CallerDep) -> Response:
    order = transactions.query(
        container.read_models,
        lambda read: order_views.get_order(read, caller.merchant_id, order_id),
    )
    return json_response(presenters.present_order(order))


@router.post(
    "/{order_id}/authorize",
    response_model=schemas.OrderOut,
    responses=links(200, **order_links("GetOrder", "CaptureOrder", "FulfilOrder", "CancelOrder")),
)
def authorize_order(
    order_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.AmountIn | None = None,
) -> Response:
    """Record that the order's money is now held (pending -> authorized)."""
    amount = body.amount if body else None
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: orders.authorize_order(
            uow,
            caller.merchant_id,
            order_id,
            amount,
            container.settings.authorization_validity,
        ),
        present=presenters.present_order,
    )


@router.post(
    "/{order_id}/capture",
    response_model=schemas.OrderOut,
    responses=links(
        200,
        **order_links(
            "GetOrder", "FulfilOrder", "CancelOrder", "CancelItem", "PreviewRefund", "RefundOrder"
        ),
    ),
)
def capture_order(
    order_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.AmountIn | None = None,
) -> Response:
    """Capture the authorization (default: all of it, less what items cancelled since were
    worth: they are not sold); the uncaptured rest is released. More is a 422
    `invalid-amount` naming `capturable`."""
    amount = body.amount if body else None
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: orders.capture_order(
            uow, caller.merchant_id, order_id, amount, container.provider_work.providers
        ),
        present=presenters.present_order,
    )


@router.post(
    "/{order_id}/fulfil",
    response_model=schemas.OrderOut,
    responses=links(
        200, **order_links("GetOrder", "FulfilOrder", "CancelOrder", "PreviewRefund", "RefundOrder")
    ),
)
def fulfil_order(
    order_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.FulfilIn | None = None,
) -> Response:
    """Ship units (default: every open unit)."""
    quantities: dict[uuid.UUID, int] | None = None
    if body is not None and body.lines is not None:
        quantities = {}
        for line in body.lines:
            quantities[line.line_id] = quantities.get(line.line_id, 0) + line.quantity
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: orders.fulfil_order(
            uow, caller.merchant_id, order_id, quantities, container.provider_work.providers
        ),
        present=presenters.present_order,
    )


@router.post(
    "/{order_id}/cancel",
    response_model=schemas.OrderOut,
    responses=links(200, **order_links("GetOrder", "ListRefunds", "RefundOrder")),
)
def cancel(
    order_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.CancelIn | None = None,
) -> Response:
    """Stop an unfulfilled order for good: restock, void the authorization or refund the capture."""
    body = body or schemas.CancelIn()
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: cancel_order(
            uow,
            caller.merchant_id,
            order_id,
            reason=body.reason,
            status_label=body.status,
            actor=caller.actor,
        ),
        present=presenters.present_order,
    )


@router.post(
    "/{order_id}/items/{item_id}/cancel",
    response_model=schemas.OrderOut,
    responses=links(
        200, **order_links("GetOrder", "CancelOrder", "CancelItem", "RefundOrder", "ListRefunds")
    ),
)
def cancel_item(
    order_id: uuid.UUID,
    item_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.ItemCancelIn | None = None,
) -> Response:
    """Cancel one item: a gift-card link (only while unopened, unexpired and unspent) or a line.

    Irreversible. A float-paid order's item is credited to the float when the invoice
    cycle closes; otherwise its captured money comes back as a cancellation refund.
    """
    body = body or schemas.ItemCancelIn()
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: cancellation.cancel_item(
            uow, caller.merchant_id, order_id, item_id, reason=body.reason, actor=caller.actor
        ),
        present=presenters.present_order,
    )
