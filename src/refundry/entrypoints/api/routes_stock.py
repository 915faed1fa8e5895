"""Stock levels per SKU: ingest takes units off, cancels and restocking refunds put them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import Field

from refundry.entrypoints.api import fields, schemas_stock
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.responses import json_response, mutate
from refundry.services import transactions
from refundry.services.handlers import stock
from refundry.services.ports.repositories import StockLevel
from refundry.services.views import stock as stock_views

router = APIRouter(prefix="/v1/stock", tags=["stock"])

Sku = Annotated[fields.PathText[Annotated[str, Field(min_length=1, max_length=100)]], Path()]


def _present(level: StockLevel) -> dict[str, object]:
    return schemas_stock.StockOut(sku=level.sku, on_hand=level.on_hand).model_dump(mode="json")


@router.get("", response_model=schemas_stock.StockListOut)
def list_stock(container: ContainerDep, caller: CallerDep) -> Response:
    levels = transactions.query(
        container.read_models, lambda read: stock_views.list_stock(read, caller.merchant_id)
    )
    return json_response({"data": [_present(level) for level in levels]})


@router.get("/{sku}", response_model=schemas_stock.StockOut)
def get_stock(sku: Sku, container: ContainerDep, caller: CallerDep) -> Response:
    levels = transactions.query(
        container.read_models, lambda read: stock_views.list_stock(read, caller.merchant_id, [sku])
    )
    return json_response(_present(levels[0] if levels else StockLevel(sku, 0)))


@router.put("/{sku}", response_model=schemas_stock.StockOut)
def set_stock(
    sku: Sku,
    body: schemas_stock.StockIn,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: stock.set_stock(uow, caller.merchant_id, sku, body.on_hand),
        present=_present,
    )
