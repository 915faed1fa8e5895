"""A refusal in the words of the person at the counter: the one place the dashboard turns a
domain error (by its stable ``code`` and its fields) into a sentence, with amounts in the
reader's currency format, dates in the merchant's time zone, goods by name and gift-card
links by their place on the order ("link 2 of 3"), never an id or minor units. The forms
show it on themselves, with what was typed; the error page shows it when no form can."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from fastapi import Request

from refundry.domain.errors import RefundryError
from refundry.domain.merchant import Merchant
from refundry.domain.order import Order
from refundry.domain.reporting import merchant_zone
from refundry.entrypoints.api.errors import in_a_sentence
from refundry.entrypoints.dashboard.rendering import money_formatter, reader_locale
from refundry.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class FormError:
    """A refusal shown on the form that caused it: ``field`` is the input to mark; the
    form ``"page"`` is the page's top (the form is no longer on the page)."""

    form: str
    message: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Reader:
    """How the person reading writes amounts (their locale) and the shop's clock."""

    locale: str
    zone: ZoneInfo

    @classmethod
    def of(cls, request: Request, timezone: str = "UTC") -> Reader:
        """``timezone``: the merchant's (only a gift-card link's refusal names a day)."""
        return cls(reader_locale(request), merchant_zone(timezone))

    def money(self, minor: int, order: Order) -> str:
        formatted: str = money_formatter(self.locale)(minor, order.currency.code)
        return formatted

    def day(self, iso: str) -> str:
        moment = datetime.fromisoformat(iso).astimezone(self.zone)
        return format_date(moment.date(), format="long", locale=self.locale)


def shop_timezone(uow: UnitOfWork, merchant_id: uuid.UUID) -> str:
    return timezone_of(uow.merchants.get(merchant_id))


def timezone_of(merchant: Merchant | None) -> str:
    """The shop's time zone, in which a refusal names a day."""
    return "UTC" if merchant is None else merchant.timezone


def field_of(error: RefundryError) -> str | None:
    """The refund form's input a refusal is about, to mark it invalid."""
    if error.code == "refund-quantity-exceeded":
        return f"line-{error.extensions['line_id']}"
    part = error.extensions.get("part")
    return part if part in ("shipping", "amount") else None


def in_plain_words(error: RefundryError, order: Order | None, reader: Reader) -> str:
    said = None
    if order is not None:
        said = _about_cancel(error, order, reader) or _about_order(error, order, reader)
    return (
        said
        or _about_labels(error)
        or _about_views(error)
        or _GENERAL.get(error.code)
        or in_a_sentence(error)
    )


def said_by_code(code: str) -> str | None:
    """The words of a refusal that needs none of its fields, known by its code alone: what
    a page reached by a redirect after a refused action shows. Its URL carries the code,
    never words, so no link can put text of its own on the page; an unknown code has none."""
    return _GENERAL.get(code)


_GENERAL = {
    "quote-stale": "The order changed since you reviewed this refund: someone refunded, "
    "canceled or shipped something meanwhile. Review the refund again.",
    "quote-expired": "This review is too old to use. Review the refund again.",
    "quote-invalid": "This review cannot be used. Review the refund again.",
    "quote-mismatch": "The refund differs from the one you reviewed. Review it again.",
    "order-already-cancelled": "This order is already canceled.",
    "refund-awaiting-approval": "A refund of this order already waits for an admin's "
    "approval: another can be asked for once an admin has decided it.",
    "unknown-order-line": "That article is not on this order. Reload the order and try again.",
    "provider-unavailable": "The payment provider did not answer, so nothing was done. "
    "Try again in a minute.",
    "idempotency-key-in-use": "This is already being done. Reload the order in a moment.",
}


def _about_labels(error: RefundryError) -> str | None:
    """A status after cancellation the shop does not have, named as the dialog lists them
    (the API's ``cancelled`` is the dialog's Canceled)."""
    if error.code != "unknown-cancel-label":
        return None
    allowed = error.extensions["allowed"]
    labels = ["Canceled" if label == "cancelled" else label for label in allowed]
    return (
        "That is not one of this shop's statuses after cancellation. "
        f"Choose one of: {', '.join(labels)}."
    )


def _about_cancel(error: RefundryError, order: Order, reader: Reader) -> str | None:
    """Why the order, or one of its items, cannot be canceled: what a refused cancel says,
    and what a More options menu shows beside its disabled entry."""
    fields: dict[str, Any] = error.extensions
    # An order or an item that cannot be canceled names the state that stops it.
    code = fields.get("condition", error.code)
    it = "the order" if error.code == "order-not-cancellable" else "it"
    if code == "order-already-cancelled":
        return "This order is already canceled."
    if code == "order-already-refunded":
        if order.status.value == "fully_refunded":
            return "This order is already fully refunded, so nothing is left to cancel."
        return "This order was already given back automatically, so nothing is left to cancel."
    if code == "order-fulfilled":
        shipped = fields.get("fulfilled_quantity", 0)
        return (
            f"{_units(shipped).capitalize()} of this order "
            f"{'has' if shipped == 1 else 'have'} shipped, so it can no longer be canceled. "
            "Create a return for them, or refund them with Refund order, instead."
        )
    if code == "waiting_for_payment":
        return (
            "This order waits for the rest of its payment (store credit paid part of it). "
            "Cancel the whole order, or cancel this item once the order is paid."
        )
    line = _line_name(order, fields.get("line_id", ""))
    if code == "fulfilled":
        return f"Units of {line} have shipped: shipped items come back through a return."
    if code == "no-open-units":
        return f"Nothing of {line} is left to cancel: each unit is canceled or refunded."
    if code == "link-cancelled" and "link_id" not in fields:
        return f"Every gift-card link of {line} is already canceled."
    if code.startswith("link-") and "link_id" in fields:
        if code == "link-cancelled":
            return f"{_link_name(order, fields['link_id']).capitalize()} is already canceled."
        return f"{_link_state(code, fields, order, reader)}, so {it} can no longer be canceled."
    return None


def _about_order(error: RefundryError, order: Order, reader: Reader) -> str | None:
    fields: dict[str, Any] = error.extensions
    code = error.code
    if code == "refund-exceeds-refundable":
        return _exceeds(fields, order, reader)
    if code == "refund-quantity-exceeded":
        left, asked = fields["refundable_quantity"], fields["requested_quantity"]
        name = _line_name(order, fields["line_id"])
        if left == 0:
            return f"{name}: nothing is left to refund (you asked for {asked})."
        return f"You can refund at most {_units(left)} of {name}, not {asked}."
    if code == "order-not-refundable":
        if order.status.value in ("pending", "authorized"):
            return (
                "No money has been taken for this order yet, so there is nothing to refund. "
                "Cancel the order to release the hold on the customer's money."
            )
        if order.status.value == "auto_refunded":
            return "This order was already given back automatically, so nothing is left to refund."
        if order.status.value == "cancelled":
            return "This order is canceled, so nothing is left to refund."
    return None


def _about_views(error: RefundryError) -> str | None:
    """A refused Save view, said on its dialog."""
    fields: dict[str, Any] = error.extensions
    if error.code == "view-name-invalid":
        if not fields.get("length"):
            return "Give the view a name: it is the label of its tab."
        return (
            f"A view's name can be at most {fields['most']} characters; this one has "
            f"{fields['length']}. Shorten it."
        )
    if error.code == "view-name-taken":
        return f"You already have a view named “{fields['name']}”. Choose another name."
    if error.code == "view-already-saved":
        return f"These filters are saved already, as your view “{fields['name']}”."
    if error.code == "view-limit-reached":
        return (
            f"You have {fields['most']} saved views on this list, the most you can keep. "
            "Delete one you no longer use, then save this one."
        )
    if error.code == "saved-view-not-found":
        return "You have no such saved view: it may have been deleted already."
    return None


def _exceeds(fields: dict[str, Any], order: Order, reader: Reader) -> str:
    left = fields.get("refundable") or 0
    if left == 0:
        return "Nothing is left to refund on this order."
    most = reader.money(left, order)
    if fields.get("part") == "shipping":
        return f"You can refund at most {most} of shipping on this order."
    if fields.get("part") == "lines":
        return (
            "The articles chosen have nothing left to refund (opened or spent gift-card links "
            f"stay with their customers). Refund an amount instead: at most {most}."
        )
    return f"You can refund at most {most} on this order."


def _link_state(code: str, fields: dict[str, Any], order: Order, reader: Reader) -> str:
    name = _link_name(order, fields["link_id"]).capitalize()
    if code == "link-accessed" and "accessed_at" in fields:
        return f"{name} was opened by the customer on {reader.day(fields['accessed_at'])}"
    if code == "link-expired" and "expires_at" in fields:
        return f"{name} expired on {reader.day(fields['expires_at'])}"
    if code == "link-spent" and "spent" in fields:
        return f"{name} has been spent ({reader.money(fields['spent'], order)} used)"
    return f"{name} is already canceled"


def _link_name(order: Order, link_id: str) -> str:
    links = order.links
    for place, link in enumerate(links, start=1):
        if str(link.id) == link_id:
            return f"link {place} of {len(links)}"
    return "a gift-card link"


def _line_name(order: Order, line_id: str) -> str:
    for line in order.lines:
        if str(line.id) == line_id:
            return line.name
    return "an article"


def _units(count: int) -> str:
    return f"{count} unit" if count == 1 else f"{count} units"
