"""A return exchanged from the dashboard: the replacement items are typed on the return's
page (up to three rows), and what arrived pays for them. The return closes as exchanged,
the replacement order is placed for the same customer, and a difference is refunded (the
return was worth more) or owed (it cost more: the replacement waits for the customer's
payment, which the checkout records)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from refundry.domain.errors import (
    Forbidden,
    InvalidAmount,
    NotFound,
    RefundNeedsApproval,
    RefundryError,
)
from refundry.domain.money import Currency, Money
from refundry.domain.order import LineKind, NewLine
from refundry.domain.staff import Permission
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.dashboard.return_forms import FieldInvalid, FieldsDep, FormFields
from refundry.entrypoints.dashboard.returns import show
from refundry.entrypoints.dashboard.routes import current_session, to_login
from refundry.services import transactions
from refundry.services.handlers import returns as handlers
from refundry.services.handlers.staff_returns import exchange_return_as_staff

router = APIRouter(include_in_schema=False)  # mounted at /dashboard

REPLACEMENT_ROWS = 3


@router.post("/returns/{return_id}/exchange")
def exchange(
    request: Request, container: ContainerDep, return_id: uuid.UUID, fields: FieldsDep
) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.check_csrf(fields.text("csrf") or None)
    current.member.require(Permission.REFUND)
    try:
        currency = transactions.read(
            container.uow_factory,
            lambda uow: _currency(uow.orders.find_return(current.member.merchant_id, return_id)),
        )
        # A difference the replacement costs more is left to the checkout: the dashboard
        # records no payment it did not see.
        replacement = handlers.ReplacementOrder(lines=replacement_lines(fields, currency))
        transactions.run(
            container.uow_factory,
            lambda uow: exchange_return_as_staff(uow, current.member, return_id, replacement),
        )
    except RefundNeedsApproval as error:  # said on the form: an admin can make it
        return show(
            request, container, current, return_id, failure=("exchange", error), fields=fields
        )
    except (Forbidden, NotFound):
        raise
    except RefundryError as error:
        return show(
            request, container, current, return_id, failure=("exchange", error), fields=fields
        )
    return RedirectResponse(f"/dashboard/returns/{return_id}?done=exchanged", status_code=303)


def _currency(found: object) -> Currency:
    if not isinstance(found, tuple):
        raise NotFound("no such return")
    order = found[0]
    currency: Currency = order.currency
    return currency


def replacement_lines(fields: FormFields, currency: Currency) -> list[NewLine]:
    """The rows a person filled in (a row with no item name is left out), read in plain
    words: a row that cannot be read names its field."""
    lines = []
    for row in range(1, REPLACEMENT_ROWS + 1):
        name = fields.text(f"name-{row}")
        if not name:
            continue
        quantity = fields.count(f"quantity-{row}", f"Replacement {row}: quantity") or 1
        lines.append(
            NewLine(
                sku=fields.text(f"sku-{row}") or name[:100],
                name=name[:300],
                kind=LineKind.PHYSICAL,
                quantity=quantity,
                unit_price=_amount(
                    fields, f"price-{row}", f"Replacement {row}: unit price", currency
                ),
                tax=_amount(fields, f"tax-{row}", f"Replacement {row}: tax", currency),
            )
        )
    if not lines:
        raise FieldInvalid("Name at least one replacement item.", "name-1")
    return lines


def _amount(fields: FormFields, name: str, label: str, currency: Currency) -> int:
    text = fields.text(name) or "0"
    try:
        minor = Money.parse(text, currency).minor
    except InvalidAmount:
        raise FieldInvalid(
            f"{label}: enter an amount in {currency.code}, like 12.50.", name
        ) from None
    if minor < 0:
        raise FieldInvalid(f"{label}: it cannot be negative.", name)
    return minor
