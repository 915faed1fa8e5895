"""What the returns pages share: the posted form as text, a refusal in plain words on the
form that caused it (Polaris: next to the field, saying what to do), the return's labels,
and its history as a person reads it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from refundry.domain.errors import (
    IllegalTransition,
    InvalidAmount,
    InvalidInput,
    QuoteExpired,
    QuoteStale,
    RefundryError,
)
from refundry.domain.money import Money
from refundry.domain.order import Order
from refundry.domain.refund import RefundMethod
from refundry.domain.returns import (
    NothingReceived,
    OrderReturn,
    ReceiptExceedsReturn,
    ReturnFeeTooHigh,
    ReturnNotOpen,
    ReturnQuantityExceeded,
    ReturnStatus,
)
from refundry.entrypoints.actors import Actors
from refundry.entrypoints.api.errors import in_a_sentence
from refundry.entrypoints.dashboard.refusals import FormError, Reader, in_plain_words
from refundry.entrypoints.dashboard.rendering import money_formatter
from refundry.entrypoints.dashboard.timeline import ReturnStep, return_step

MAX_FIELD = 1000

STATUS_LABELS = {
    ReturnStatus.REQUESTED: "Requested",
    ReturnStatus.OPEN: "Open",
    ReturnStatus.PARTIALLY_RECEIVED: "Partially received",
    ReturnStatus.RECEIVED: "Received",
    ReturnStatus.CLOSED: "Closed",
    ReturnStatus.DECLINED: "Declined",
    ReturnStatus.CANCELLED: "Canceled",
}

# Where a return's money can go from the dashboard, in the order offered; an exchange is
# not a destination but an action of its own on the return page (return.html, "Exchange").
DESTINATIONS: tuple[tuple[RefundMethod, str], ...] = (
    (RefundMethod.ORIGINAL, "The original payment method (the card the customer paid with)"),
    (RefundMethod.STORE_CREDIT, "Store credit (credited at once; spent at a next checkout)"),
    (RefundMethod.OTHER, 'Other means (recorded only: "Not requested by administrator")'),
)


class FormFields(dict[str, str]):
    """A posted form's text fields, trimmed; NUL refused (PostgreSQL cannot store it)."""

    def text(self, name: str) -> str:
        return self.get(name, "")

    def count(self, name: str, label: str) -> int:
        """A whole number of units; blank is 0."""
        value = self.text(name) or "0"
        try:
            return int(value)
        except ValueError:
            raise FieldInvalid(
                f"{label}: enter a whole number of units, not “{value[:20]}”.", name
            ) from None


async def form_fields(request: Request) -> FormFields:
    form = await request.form()
    fields = FormFields()
    for name, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            raise InvalidInput(f"{name[:40]} must not contain a NUL character")
        fields[name[:100]] = value.strip()[:MAX_FIELD]
    return fields


FieldsDep = Annotated[FormFields, Depends(form_fields)]


class FieldInvalid(InvalidInput):
    """A form field the dashboard could not read, already in plain words."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field=field)


# The forms a return's page shows in each status; a refusal of another form (the return
# changed meanwhile) is shown at the top of the page instead.
FORMS_BY_STATUS = {
    ReturnStatus.REQUESTED: frozenset({"approve", "decline"}),
    ReturnStatus.OPEN: frozenset({"receive", "cancel"}),
    ReturnStatus.PARTIALLY_RECEIVED: frozenset({"receive", "refund", "exchange"}),
    ReturnStatus.RECEIVED: frozenset({"refund", "exchange"}),
}


def plain_error(
    form: str,
    error: RefundryError,
    order: Order,
    reader: Reader,
    order_return: OrderReturn | None = None,
) -> FormError:
    """The refusal in words a person at the counter can act on: goods by name, amounts in
    the shop's currency, and what to do about it. On a return's page, a refusal of a form
    its status no longer shows (the return changed meanwhile) goes to the page's top."""
    said = _in_words(form, error, order, reader)
    if order_return is None:
        return said
    if isinstance(error, IllegalTransition | ReturnNotOpen | NothingReceived):
        label = STATUS_LABELS[order_return.status].lower()
        said = FormError(
            form,
            f"This return is {label} now, so that cannot be done: someone may have changed "
            "it meanwhile. The page shows where it stands.",
        )
    if form not in FORMS_BY_STATUS.get(order_return.status, frozenset()):
        return FormError("page", said.message)
    return said


def _in_words(form: str, error: RefundryError, order: Order, reader: Reader) -> FormError:
    extensions = error.extensions
    money = money_formatter(reader.locale)
    if isinstance(error, QuoteStale):
        return FormError(form, "The order changed since you reviewed this refund. Review it again.")
    if isinstance(error, QuoteExpired):
        return FormError(form, "This review is too old to use. Review the refund again.")
    if isinstance(error, FieldInvalid):
        return FormError(form, error.detail, extensions["field"])
    if isinstance(error, ReceiptExceedsReturn):
        name = _line_name(order, extensions["line_id"])
        expected = extensions["expected"]
        return FormError(
            form,
            f"{name}: only {_units(expected)} {'is' if expected == 1 else 'are'} still "
            "expected. Count again what arrived.",
            f"resellable-{extensions['line_id']}",
        )
    if isinstance(error, ReturnQuantityExceeded):
        name = _line_name(order, extensions["line_id"])
        left = extensions["returnable_quantity"]
        return FormError(
            form,
            f"{name}: {_units(left)} can be returned (shipped, not refunded, not in another "
            f"return), not {extensions['requested_quantity']}.",
            f"quantity-{extensions['line_id']}",
        )
    if isinstance(error, ReturnFeeTooHigh):
        fees = money(Money(extensions["fees"], order.currency))
        value = money(Money(extensions["value"], order.currency))
        return FormError(
            form,
            f"The fees ({fees}) are more than the returned units are worth ({value}). "
            "Lower the restocking fee or the return-shipping fee.",
            "restocking_fee",
        )
    if isinstance(error, InvalidAmount):
        return FormError(form, f"{in_a_sentence(error)} Enter an amount like 4.90.")
    return FormError(form, in_plain_words(error, order, reader))


def _units(count: int) -> str:
    return f"{count} unit" if count == 1 else f"{count} units"


def _line_name(order: Order, line_id: str) -> str:
    for line in order.lines:
        if str(line.id) == line_id:
            return line.name
    return "An item"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    step: ReturnStep
    who: str


def history(order: Order, order_return: OrderReturn, actors: Actors) -> list[HistoryEntry]:
    """Every status change, oldest first, with who made it and why, when someone said."""
    return [
        HistoryEntry(change.at, return_step(order, change), actors.name(change.actor))
        for change in order_return.history
    ]


def short_id(return_id: uuid.UUID) -> str:
    """How a return is named on screen: Polaris names records by a short number."""
    return str(return_id)[:8]


def default_receipt(order_return: OrderReturn) -> Mapping[str, str]:
    """The receive form's first values: every unit still expected, as resellable."""
    fields: dict[str, str] = {}
    for line in order_return.lines:
        fields[f"resellable-{line.order_line_id}"] = str(line.quantity - line.received)
        fields[f"damaged-{line.order_line_id}"] = "0"
    return fields
