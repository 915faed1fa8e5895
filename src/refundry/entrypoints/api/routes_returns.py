"""Returns: shipped units coming back, from request to refund."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from refundry.domain.order import Order, ReturnLineRequest
from refundry.domain.refund import Refund
from refundry.domain.returns import (
    AfterSales,
    OrderReturn,
    ReceivedUnits,
    ReturnStatus,
    basis_points,
)
from refundry.entrypoints.api import schemas_returns as schemas
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.fields import Text
from refundry.entrypoints.api.links import link, links
from refundry.entrypoints.api.responses import json_response, mutate
from refundry.entrypoints.keyset_cursor import decode_cursor, encode_cursor
from refundry.services import transactions
from refundry.services.handlers import returns as handlers
from refundry.services.views import returns as views
from refundry.services.views.documents import (
    cancellation_record_document,
    return_document,
)

router = APIRouter(prefix="/v1", tags=["returns"])

RETURN = "/v1/returns/{return_id}"
RETURN_ID = "$response.body#/id"
RETURN_LINKS = links(
    200,
    GetReturn=link("GET", RETURN, "Read the return", return_id=RETURN_ID),
    ApproveReturn=link("POST", f"{RETURN}/approve", "Approve it", return_id=RETURN_ID),
    ReceiveReturn=link("POST", f"{RETURN}/receive", "Record units received", return_id=RETURN_ID),
    PreviewReturnRefund=link(
        "POST", f"{RETURN}/refund/preview", "Review its refund", return_id=RETURN_ID
    ),
)


def present_return(change: handlers.ReturnChange) -> dict[str, Any]:
    return return_model(change.order, change.order_return).model_dump(mode="json")


def return_model(order: Order, order_return: OrderReturn) -> schemas.ReturnOut:
    return schemas.ReturnOut(**return_document(order, order_return))


# ------------------------------------------------------------------- writes
@router.post(
    "/orders/{order_id}/returns",
    status_code=201,
    response_model=schemas.ReturnOut,
    responses={201: RETURN_LINKS[200]},
)
def create_return(
    order_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.ReturnIn,
) -> Response:
    """Return shipped units: `open` at once, or `requested` to wait for approval.

    Units in a return can be neither refunded by line nor returned again until it ends.
    """
    lines = [
        ReturnLineRequest(
            line.line_id,
            line.quantity,
            line.reason,
            None
            if line.restocking_fee_percent is None
            else basis_points(line.restocking_fee_percent),
        )
        for line in body.lines
    ]
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: handlers.create_return(
            uow,
            caller.merchant_id,
            order_id,
            lines,
            requested=body.requested,
            restocking_fee_bp=basis_points(body.restocking_fee_percent),
            return_shipping_fee=body.return_shipping_fee,
            note=body.note,
            actor=caller.actor,
        ),
        present=present_return,
        status_code=201,
    )


@router.post(
    "/returns/{return_id}/approve", response_model=schemas.ReturnOut, responses=RETURN_LINKS
)
def approve_return(
    return_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """A requested return is approved: it is `open`, and its units may be sent back."""
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=None,
        use_case=lambda uow: handlers.approve_return(
            uow, caller.merchant_id, return_id, actor=caller.actor
        ),
        present=present_return,
    )


@router.post("/returns/{return_id}/decline", response_model=schemas.ReturnOut)
def decline_return(
    return_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.DeclineIn,
) -> Response:
    """A requested return is refused, with the reason the customer will be told."""
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: handlers.decline_return(
            uow, caller.merchant_id, return_id, reason=body.reason, actor=caller.actor
        ),
        present=present_return,
    )


@router.post("/returns/{return_id}/cancel", response_model=schemas.ReturnOut)
def cancel_return(
    return_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.CancelReturnIn | None = None,
) -> Response:
    """An open return is withdrawn, while nothing has arrived; its units are released."""
    body = body or schemas.CancelReturnIn()
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: handlers.cancel_return(
            uow, caller.merchant_id, return_id, reason=body.reason, actor=caller.actor
        ),
        present=present_return,
    )


@router.post(
    "/returns/{return_id}/receive", response_model=schemas.ReturnOut, responses=RETURN_LINKS
)
def receive_return(
    return_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.ReceiveIn,
) -> Response:
    """Units arrived: `resellable` ones go back on the shelf now; `damaged` ones do not."""
    units = [ReceivedUnits(line.line_id, line.resellable, line.damaged) for line in body.lines]
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: handlers.receive_return(
            uow, caller.merchant_id, return_id, units, actor=caller.actor
        ),
        present=present_return,
    )


# -------------------------------------------------------------------- reads
@router.get("/returns", response_model=schemas.AfterSalesListOut)
def list_returns(
    container: ContainerDep,
    caller: CallerDep,
    kind: AfterSales = AfterSales.BOTH,
    status: ReturnStatus | None = None,
    query: Annotated[Text[str] | None, Query(max_length=320)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Sales > Returns (seed 001): returns (`kind` `return`) and the refunds cancels made
    (`kind` `cancellation`), newest first; `kind` lists one of the two. A `status` (a
    return's) lists returns only. `query` is a record's id, an order id or external id, or a
    customer's e-mail; `next_cursor` fetches the page after this one."""
    after = decode_cursor(cursor, refusal="cursor is not one this API gave out")
    page = transactions.query(
        container.read_models,
        lambda read: views.list_after_sales(
            read,
            caller.merchant_id,
            status=status,
            query=query,
            after=after,
            limit=limit,
            records=kind,
        ),
    )
    last = page[-1][1] if len(page) == limit else None
    return json_response(
        schemas.AfterSalesListOut(
            data=[_record_model(order, record) for order, record in page],
            next_cursor=None if last is None else encode_cursor(last.created_at, last.id),
        ).model_dump(mode="json")
    )


def _record_model(
    order: Order, record: OrderReturn | Refund
) -> schemas.ReturnOut | schemas.CancellationRecordOut:
    if isinstance(record, OrderReturn):
        return return_model(order, record)
    return schemas.CancellationRecordOut(**cancellation_record_document(order, record))


@router.get(RETURN.removeprefix("/v1"), response_model=schemas.ReturnOut)
def get_return(return_id: uuid.UUID, container: ContainerDep, caller: CallerDep) -> Response:
    order, order_return = transactions.query(
        container.read_models, lambda read: views.get_return(read, caller.merchant_id, return_id)
    )
    return json_response(return_model(order, order_return).model_dump(mode="json"))


@router.get("/orders/{order_id}/returns", response_model=schemas.ReturnListOut)
def order_returns(order_id: uuid.UUID, container: ContainerDep, caller: CallerDep) -> Response:
    """The order's returns, oldest first."""
    order = transactions.query(
        container.read_models, lambda read: views.order_returns(read, caller.merchant_id, order_id)
    )
    return json_response(
        schemas.ReturnListOut(
            data=[return_model(order, order_return) for order_return in order.returns],
            next_cursor=None,
        ).model_dump(mode="json")
    )
