"""The merchant float and its invoice statements (JSON and CSV)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from refundry.domain.merchant_float import CreditedRefund, Invoice
from refundry.entrypoints.api import schemas_float
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.responses import json_response, mutate
from refundry.services import transactions
from refundry.services.handlers import merchant_float

router = APIRouter(prefix="/v1", tags=["float"])


def _credits(credited: tuple[CreditedRefund, ...] | list[CreditedRefund]) -> list[Any]:
    return [
        schemas_float.PendingCreditOut(
            order_id=credit.order_id, refund_id=credit.refund_id, amount=credit.amount.minor
        )
        for credit in credited
    ]


def present_float(summary: merchant_float.FloatSummary) -> dict[str, Any]:
    return schemas_float.FloatOut(
        currency=summary.account.currency.code,
        balance=summary.account.balance.minor,
        invoice_cycle=summary.account.invoice_cycle,
        cycle_start=summary.cycle_start,
        cycle_end=summary.cycle_end,
        pending_credits=summary.pending_total.minor,
        pending=_credits(summary.pending_credits),
    ).model_dump(mode="json")


def invoice_model(invoice: Invoice) -> schemas_float.InvoiceOut:
    return schemas_float.InvoiceOut(
        id=invoice.id,
        currency=invoice.currency.code,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        opening_balance=invoice.opening_balance.minor,
        top_ups=invoice.top_ups.minor,
        charges=invoice.charges.minor,
        adjustments=invoice.adjustments.minor,
        credits=invoice.credits.minor,
        closing_balance=invoice.closing_balance.minor,
        closed_at=invoice.closed_at,
        credited=_credits(invoice.credited),
    )


@router.get("/float", response_model=schemas_float.FloatOut)
def get_float(container: ContainerDep, caller: CallerDep) -> Response:
    """The balance and the credits waiting for the next close of the invoice cycle."""
    summary = transactions.read(
        container.uow_factory, lambda uow: merchant_float.float_summary(uow, caller.merchant_id)
    )
    return json_response(present_float(summary))


@router.put("/float", response_model=schemas_float.FloatOut)
def open_float(
    body: schemas_float.FloatIn,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Open the float in a currency (fixed for good), or change its invoice cycle."""
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: merchant_float.open_float(
            uow, caller.merchant_id, body.currency, body.invoice_cycle
        ),
        present=present_float,
    )


@router.post("/float/top-ups", status_code=201, response_model=schemas_float.FloatOut)
def top_up(
    body: schemas_float.TopUpIn,
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
        use_case=lambda uow: merchant_float.top_up_float(uow, caller.merchant_id, body.amount),
        present=present_float,
        status_code=201,
    )


@router.post("/float/adjustments", status_code=201, response_model=schemas_float.FloatOut)
def adjust(
    body: schemas_float.FloatAdjustmentIn,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Correct the float by hand, up or down, saying why; it shows on the next statement."""
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: merchant_float.adjust_float(
            uow, caller.merchant_id, body.amount, body.note
        ),
        present=present_float,
        status_code=201,
    )


@router.get("/invoices", response_model=schemas_float.InvoiceListOut)
def list_invoices(container: ContainerDep, caller: CallerDep) -> Response:
    invoices = transactions.read(
        container.uow_factory, lambda uow: merchant_float.list_invoices(uow, caller.merchant_id)
    )
    body = schemas_float.InvoiceListOut(data=[invoice_model(invoice) for invoice in invoices])
    return json_response(body.model_dump(mode="json"))


@router.get(
    "/invoices/{invoice_id}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the statement as CSV"}},
)
def get_invoice_csv(invoice_id: uuid.UUID, container: ContainerDep, caller: CallerDep) -> Response:
    """The statement: one row per figure, then one row per credited item; major units."""
    invoice = transactions.read(
        container.uow_factory,
        lambda uow: merchant_float.get_invoice(uow, caller.merchant_id, invoice_id),
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "order_id", "refund_id", "amount", "currency"])
    code = invoice.currency.code
    for label, amount in (
        ("opening_balance", invoice.opening_balance),
        ("top_ups", invoice.top_ups),
        ("charges", -invoice.charges),
        ("adjustments", invoice.adjustments),
        ("credits", invoice.credits),
        ("closing_balance", invoice.closing_balance),
    ):
        writer.writerow([label, "", "", amount.to_decimal_string(), code])
    for credit in invoice.credited:
        writer.writerow(
            ["credit", credit.order_id, credit.refund_id, credit.amount.to_decimal_string(), code]
        )
    filename = f"invoice-{invoice.period_start.date().isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/invoices/{invoice_id}", response_model=schemas_float.InvoiceOut)
def get_invoice(invoice_id: uuid.UUID, container: ContainerDep, caller: CallerDep) -> Response:
    invoice = transactions.read(
        container.uow_factory,
        lambda uow: merchant_float.get_invoice(uow, caller.merchant_id, invoice_id),
    )
    return json_response(invoice_model(invoice).model_dump(mode="json"))
