"""Loyalty points: the merchant's program and each customer's ledger."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from refundry.domain.points import PointsProgram
from refundry.entrypoints.api import schemas_points as schemas
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.fields import PathText
from refundry.entrypoints.api.responses import json_response, mutate
from refundry.services import transactions
from refundry.services.handlers import points
from refundry.services.views import points as points_views

router = APIRouter(prefix="/v1", tags=["points"])

CustomerKey = PathText[Annotated[str, Path(min_length=1, max_length=320)]]


def present_program(program: PointsProgram) -> dict[str, Any]:
    return schemas.PointsProgramOut(
        points_per_unit=program.points_per_unit,
        rounding=program.rounding,
        shortfall_policy=program.shortfall_policy,
    ).model_dump(mode="json")


@router.put("/points-program", response_model=schemas.PointsProgramOut)
def set_program(
    body: schemas.PointsProgramIn,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Set the earn rule. Orders captured from now on earn by it; refunds of any earning
    order take back their share of what that order earned."""
    program = PointsProgram(body.points_per_unit, body.rounding, body.shortfall_policy)
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: points.set_program(uow, caller.merchant_id, program),
        present=present_program,
    )


@router.get("/points-program", response_model=schemas.PointsProgramOut)
def get_program(container: ContainerDep, caller: CallerDep) -> Response:
    program = transactions.read(
        container.uow_factory, lambda uow: points.get_program(uow, caller.merchant_id)
    )
    return json_response(present_program(program))


@router.get("/customers/{customer}/points", response_model=schemas.CustomerPointsOut)
def customer_points(customer: CustomerKey, container: ContainerDep, caller: CallerDep) -> Response:
    """A customer's balance and ledger. ``customer`` is the order's customer
    ``external_id``, or its email when the checkout sent no id."""
    found = transactions.query(
        container.read_models,
        lambda read: points_views.customer_points(read, caller.merchant_id, customer),
    )
    return json_response(
        schemas.CustomerPointsOut(
            customer=found.customer,
            balance=found.balance,
            entries=[
                schemas.PointsEntryOut(
                    id=entry.id,
                    kind=entry.kind,
                    points=entry.points,
                    shortfall=entry.shortfall,
                    order_id=entry.order_id,
                    refund_id=entry.refund_id,
                    note=entry.note,
                    created_at=entry.created_at,
                )
                for entry in found.entries
            ],
        ).model_dump(mode="json")
    )
