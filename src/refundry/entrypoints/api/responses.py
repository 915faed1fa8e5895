"""Running a mutating use case for a route: one transaction, idempotent when keyed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from pydantic import BaseModel

from refundry.bootstrap import Container
from refundry.services import transactions
from refundry.services.handlers.merchants import ApiCaller
from refundry.services.json_text import dump_json
from refundry.services.unit_of_work import UnitOfWork

T = TypeVar("T")


def mutate(
    *,
    container: Container,
    caller: ApiCaller,
    request: Request,
    idempotency_key: str | None,
    body: BaseModel | None,
    use_case: Callable[[UnitOfWork], T],
    present: Callable[[T], dict[str, Any]],
    status_code: int = 200,
) -> Response:
    key = request_key(caller, request, idempotency_key, body)
    outcome = transactions.run_idempotently(
        container.uow_factory, key, use_case, present, status_code
    )
    return outcome_response(outcome)


def request_key(
    caller: ApiCaller, request: Request, idempotency_key: str | None, body: BaseModel | None
) -> transactions.IdempotencyKey | None:
    """The request's Idempotency-Key, bound to what it asks (method, path, body)."""
    if idempotency_key is None:
        return None
    return transactions.IdempotencyKey.for_request(
        caller.merchant_id,
        idempotency_key,
        request.method,
        request.url.path,
        None if body is None else body.model_dump(mode="json"),
    )


def outcome_response(outcome: transactions.Outcome) -> Response:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return Response(
        outcome.body,
        status_code=outcome.status_code,
        media_type="application/json",
        headers=headers,
    )


def json_response(body: dict[str, Any]) -> Response:
    return Response(dump_json(body), media_type="application/json")
