"""What the order refund forms send, read the same from a POST body or a URL's query:
Review refund and Edit refund are pages reached by GET (Back returns to them without
"Confirm form resubmission"), carrying the form in their query; only Refund posts."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.datastructures import ImmutableMultiDict

from refundry.domain.errors import EmptyRefund, InvalidAmount, InvalidInput
from refundry.domain.money import Money
from refundry.domain.order import LineRefundRequest, Order, RefundRequest
from refundry.domain.refund import RefundMethod

MAX_FIELD = 1000
MAX_LINES = 500  # as the API's refund
RESTOCK_ALL = "all"  # a full refund's choice: every shipped unit back in stock too
ATTEMPT = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class RefundForm:
    """``full``, or lines, shipping and an amount (major units, as typed); the
    description, the method, and which lines' shipped units go back in stock
    (``restock``: line ids, or ``all``)."""

    full: bool
    quantities: dict[uuid.UUID, int] = field(default_factory=dict)
    shipping: str = ""
    amount: str = ""
    reason: str = ""
    method: RefundMethod = RefundMethod.ORIGINAL
    restock: frozenset[str] = frozenset()
    attempt: str = ""  # given when the form is first opened, carried to Refund
    quote: str | None = None
    csrf: str | None = None

    def restocks(self, line_id: uuid.UUID) -> bool:
        return RESTOCK_ALL in self.restock or str(line_id) in self.restock

    def request(self, order: Order) -> RefundRequest:
        if self.full:
            if self.quantities or self.shipping or self.amount:
                raise InvalidInput("a full refund takes no articles, shipping or amount")
            return RefundRequest.full(restock=RESTOCK_ALL in self.restock)
        lines = tuple(
            LineRefundRequest(order.line(line_id).id, quantity, restock=self.restocks(line_id))
            for line_id, quantity in self.quantities.items()
            if quantity > 0
        )
        shipping = _minor(self.shipping, order, "shipping")
        amount = _minor(self.amount, order, "amount")
        if not lines and shipping is None and amount is None:
            raise EmptyRefund("choose at least one article, shipping or an amount to refund")
        return RefundRequest(lines=lines, shipping=shipping, amount=amount)

    def carried(self) -> list[tuple[str, str]]:
        """The form as filled in, for the next step's hidden inputs or query: never the
        CSRF token (it stays out of URLs) nor the quote (each review issues its own)."""
        pairs = [("mode", "full" if self.full else "edit")]
        pairs += [(f"line-{line_id}", str(count)) for line_id, count in self.quantities.items()]
        typed = (("shipping", self.shipping), ("amount", self.amount), ("reason", self.reason))
        pairs += [(name, value) for name, value in typed if value]
        pairs.append(("method", self.method.value))
        pairs += [("restock", value) for value in sorted(self.restock)]
        if self.attempt:
            pairs.append(("attempt", self.attempt))
        return pairs

    def once_key(self) -> str | None:
        """What makes this refund once: the attempt (the refund form as first opened)
        and what it gives back. Back from the order to the review and Refund again
        replays the first refund; a refund edited to give back something else is
        another. The description is left out: changing it alone refunds nothing again."""
        if not self.attempt:
            return None
        asked = [pair for pair in self.carried() if pair[0] not in ("reason", "attempt")]
        digest = hashlib.sha256(json.dumps(asked).encode()).hexdigest()[:32]
        return f"dashboard-refund-{self.attempt}-{digest}"


def _minor(text: str, order: Order, part: str) -> int | None:
    if not text:
        return None
    try:
        return Money.parse(text, order.currency).minor
    except InvalidAmount as error:
        # the part names the input to mark (refusals.field_of)
        raise InvalidAmount(f"{part.capitalize()}: {error.detail}", part=part) from None


async def refund_form(request: Request) -> RefundForm:
    """The form a POST sent, or a GET's query (Review refund and Edit refund)."""
    fields = await request.form() if request.method == "POST" else request.query_params
    return read_refund_form(fields)


def read_refund_form(fields: ImmutableMultiDict[str, Any]) -> RefundForm:
    def text(name: str) -> str:
        value = fields.get(name)
        if not isinstance(value, str):
            return ""
        if "\x00" in value:
            raise InvalidInput(f"{name} must not contain a NUL character")
        return value.strip()[:MAX_FIELD]

    quantities: dict[uuid.UUID, int] = {}
    restock: set[str] = set()
    for name, value in fields.multi_items():
        if not isinstance(value, str) or not value.strip():
            continue
        if name.startswith("line-"):
            try:
                quantities[uuid.UUID(name.removeprefix("line-"))] = int(value)
            except ValueError:
                raise InvalidInput(f"{value[:20]!r} is not a number of articles") from None
        elif name == "restock":
            restock.add(_restocked(value.strip()))
    if len(quantities) > MAX_LINES or len(restock) > MAX_LINES:
        raise InvalidInput(f"a refund names at most {MAX_LINES} articles")
    try:
        method = RefundMethod(text("method") or RefundMethod.ORIGINAL.value)
    except ValueError:
        raise InvalidInput(
            "choose where the refund goes: the way the customer paid, store credit or "
            "different means"
        ) from None
    attempt = text("attempt")
    if attempt and not ATTEMPT.fullmatch(attempt):
        raise InvalidInput("this refund form is damaged; open Refund from the order again")
    return RefundForm(
        full=text("mode") == "full",
        quantities=quantities,
        shipping=text("shipping"),
        amount=text("amount"),
        reason=text("reason"),
        method=method,
        restock=frozenset(restock),
        attempt=attempt,
        quote=text("quote") or None,
        csrf=text("csrf") or None,
    )


def _restocked(value: str) -> str:
    if value == RESTOCK_ALL:
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidInput(f"{value[:40]!r} is not an article to restock") from None
