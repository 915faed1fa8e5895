"""Store credit: each customer's balances and ledger, and support agents' adjustments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from refundry.domain.store_credit import StoreCreditAccount, StoreCreditEntry
from refundry.entrypoints.api import schemas_store_credit as schemas
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.responses import json_response, mutate
from refundry.entrypoints.api.routes_points import CustomerKey
from refundry.services import transactions
from refundry.services.clock import utcnow
from refundry.services.handlers import store_credit
from refundry.services.views import store_credit as store_credit_views

router = APIRouter(prefix="/v1", tags=["store credit"])


def _entry(currency: str, entry: StoreCreditEntry) -> schemas.StoreCreditEntryOut:
    return schemas.StoreCreditEntryOut(
        id=entry.id,
        currency=currency,
        kind=entry.kind,
        amount=entry.amount,
        expires_at=entry.expires_at,
        order_id=entry.order_id,
        refund_id=entry.refund_id,
        note=entry.note,
        created_at=entry.created_at,
    )


def _balance(balance: store_credit_views.StoreCreditBalance) -> schemas.StoreCreditBalanceOut:
    return schemas.StoreCreditBalanceOut(
        currency=balance.currency,
        available=balance.available,
        ledger_balance=balance.ledger_balance,
        next_expiry_at=balance.next_expiry_at,
    )


@router.get("/customers/{customer}/store-credit", response_model=schemas.CustomerStoreCreditOut)
def customer_store_credit(
    customer: CustomerKey, container: ContainerDep, caller: CallerDep
) -> Response:
    """A customer's store credit per currency and its ledger. ``customer`` is the order's
    customer ``external_id``, or its email (case folded) when the checkout sent no id.
    Credit past its expiry is never available, even before the worker writes it off."""
    found = transactions.query(
        container.read_models,
        lambda read: store_credit_views.customer_store_credit(read, caller.merchant_id, customer),
    )
    return json_response(
        schemas.CustomerStoreCreditOut(
            customer=found.customer,
            balances=[_balance(balance) for balance in found.balances],
            entries=[_entry(currency, entry) for currency, entry in found.entries],
        ).model_dump(mode="json")
    )


def _present_adjustment(adjusted: tuple[StoreCreditAccount, StoreCreditEntry]) -> dict[str, Any]:
    account, entry = adjusted
    return schemas.AdjustmentOut(
        customer=account.customer,
        balance=_balance(store_credit_views.balance_of(account, utcnow())),
        entry=_entry(account.currency.code, entry),
    ).model_dump(mode="json")


@router.post(
    "/customers/{customer}/store-credit/adjustments",
    status_code=201,
    response_model=schemas.AdjustmentOut,
)
def adjust_store_credit(
    customer: CustomerKey,
    body: schemas.StoreCreditAdjustmentIn,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Grant store credit (goodwill) or correct it, with a note. A correction takes at
    most what is available (`store-credit-insufficient`, nothing written)."""
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: store_credit.adjust(
            uow, caller.merchant_id, customer, body.currency, body.amount, body.note, caller.actor
        ),
        present=_present_adjustment,
        status_code=201,
    )
