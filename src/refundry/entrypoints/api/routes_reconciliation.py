"""Reconciliation: expected transaction records in, runs, and the discrepancy report."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from refundry.adapters.metrics import reconciliation_run
from refundry.domain.errors import InvalidInput
from refundry.domain.money import Currency, Money
from refundry.domain.reconciliation import (
    Discrepancy,
    DiscrepancyKind,
    ExpectedRecord,
    ReconciliationOutcome,
)
from refundry.entrypoints.api import schemas_reconciliation as schemas
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.responses import (
    json_response,
    mutate,
    outcome_response,
    request_key,
)
from refundry.entrypoints.reconciliation_csv import discrepancy_csv
from refundry.services import transactions
from refundry.services.handlers import reconciliation
from refundry.services.unit_of_work import UnitOfWork
from refundry.services.views import reconciliation as reconciliation_views

router = APIRouter(prefix="/v1/reconciliation", tags=["reconciliation"])

IncludeResolved = Annotated[bool, Query(description="resolved discrepancies too")]


@router.post("/records", response_model=schemas.RecordsImportedOut)
def import_records(
    body: schemas.RecordsIn,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Store up to 1000 expected transaction records (the CLI imports files of any size).
    A record sent again is stored once; one with a changed amount replaces the old."""
    records = [
        ExpectedRecord(
            transaction_id=record.transaction_id,
            order_reference=record.order,
            amount=Money(record.amount, Currency.of(record.currency)),
            points=record.points,
            occurred_at=record.occurred_at,
        )
        for record in body.records
    ]

    def store(uow: UnitOfWork) -> tuple[int, int]:
        imported = reconciliation.add_records(uow, caller.merchant_id, records)
        return imported, uow.reconciliation.count_records(caller.merchant_id)

    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=store,
        present=lambda counts: schemas.RecordsImportedOut(
            imported=counts[0], stored=counts[1]
        ).model_dump(mode="json"),
    )


@router.post("/runs", response_model=schemas.RunOut)
def run(
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.RunIn | None = None,
) -> Response:
    """Compare the merchant's records with its orders now: a settled redeem order whose
    record is still missing after the grace period is reversed (``auto_refunded``, with
    its webhook); every other mismatch is reported. Running it again changes nothing."""
    hours = container.settings.reconcile_grace_hours
    if body is not None and body.grace_hours is not None:
        hours = body.grace_hours
    outcome = transactions.run_repeatable_once(
        container.uow_factory,
        request_key(caller, request, idempotency_key, body),
        lambda: reconciliation_run(
            "api",
            lambda: reconciliation.reconcile(
                container.uow_factory, caller.merchant_id, grace=timedelta(hours=hours)
            ),
        ),
        _present_run,
        200,
    )
    return outcome_response(outcome)


def _present_run(outcome: ReconciliationOutcome) -> dict[str, object]:
    return schemas.RunOut(
        records_matched=outcome.records_linked,
        orders_auto_refunded=list(outcome.orders_auto_refunded),
        discrepancies_found=outcome.discrepancies_found,
        discrepancies_resolved=outcome.discrepancies_resolved,
    ).model_dump(mode="json")


@router.get("/discrepancies", response_model=schemas.DiscrepancyListOut)
def list_discrepancies(
    container: ContainerDep,
    caller: CallerDep,
    include_resolved: IncludeResolved = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """Oldest first; ``next_cursor`` fetches the page after this one."""
    after = _decode_cursor(cursor)
    page = transactions.query(
        container.read_models,
        lambda read: reconciliation_views.discrepancies(
            read, caller.merchant_id, include_resolved=include_resolved, after=after, limit=limit
        ),
    )
    next_cursor = _encode_cursor(page[-1]) if len(page) == limit else None
    return json_response(
        schemas.DiscrepancyListOut(
            data=[_discrepancy_model(found) for found in page], next_cursor=next_cursor
        ).model_dump(mode="json")
    )


@router.get(
    "/discrepancies.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one header row, then rows"}},
)
def discrepancies_csv(
    container: ContainerDep, caller: CallerDep, include_resolved: IncludeResolved = False
) -> StreamingResponse:
    """The discrepancy report as CSV, streamed page by page."""
    rows = reconciliation_views.all_discrepancies(
        container.lagging_reads, caller.merchant_id, include_resolved=include_resolved
    )
    return StreamingResponse(
        discrepancy_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="discrepancies.csv"'},
    )


def _discrepancy_model(found: Discrepancy) -> schemas.DiscrepancyOut:
    return schemas.DiscrepancyOut(
        kind=found.kind,
        transaction_id=found.transaction_id,
        order_id=found.order_id,
        currency=found.currency,
        order_amount=found.order_amount,
        record_amount=found.record_amount,
        order_points=found.order_points,
        record_points=found.record_points,
        action=found.action,
        explanation=found.explanation,
        found_at=found.found_at,
        resolved_at=found.resolved_at,
    )


def _encode_cursor(last: Discrepancy) -> str:
    text = json.dumps([last.found_at.isoformat(), last.kind.value, last.subject])
    return base64.urlsafe_b64encode(text.encode()).decode()


def _decode_cursor(cursor: str | None) -> tuple[datetime, str, str] | None:
    if cursor is None:
        return None
    try:
        found_at, kind, subject = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        after = datetime.fromisoformat(found_at), DiscrepancyKind(kind).value, str(subject)
    except (ValueError, TypeError):
        raise InvalidInput("cursor is not one this API gave out") from None
    if after[0].tzinfo is None or not after[2].isprintable() or len(after[2]) > 255:
        raise InvalidInput("cursor is not one this API gave out")
    return after
