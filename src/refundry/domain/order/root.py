"""The order aggregate's root: identity, fields, version, status and its one transition,
and the queries every rule reads (money totals, lines, fulfilment).

An order changes only through its methods, each of which checks the transition table,
bumps ``version`` (what a refund quote is bound to) and leaves the money totals derivable
from the ledger: ``refunded`` is the sum of refunds that count, never a second number kept
beside them.

The rules live in the package's concept modules as functions of an ``OrderRoot``; they
import this module and nothing imports them back but ``order.py``, which binds them as the
methods of ``Order``. ``_move_to`` and ``_touch`` are private to the package.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from refundry.domain.errors import IllegalTransition, UnknownOrderLine
from refundry.domain.events import DomainEvent
from refundry.domain.gift_card import GiftCardLink
from refundry.domain.money import Currency, Money
from refundry.domain.order import refund_calculation
from refundry.domain.order.lines import LineKind, OrderLine, Shipping
from refundry.domain.order.payment import Payment
from refundry.domain.order.refund_calculation import LineRefundTotals
from refundry.domain.points import OrderPoints
from refundry.domain.refund import Refund, sum_money
from refundry.domain.returns import OrderReturn
from refundry.domain.status import FulfilmentStatus, OrderStatus, can_transition


@dataclass(frozen=True, slots=True)
class Customer:
    email: str
    external_id: str | None = None


@dataclass(slots=True)
class OrderRoot:
    """The order's state and what every rule reads: ``Order`` adds the behaviour."""

    id: uuid.UUID
    merchant_id: uuid.UUID
    external_id: str | None
    customer: Customer
    currency: Currency
    lines: list[OrderLine]
    shipping: Shipping
    payment: Payment
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    status_label: str | None = None
    cancel_reason: str | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None  # who cancelled it (None before migration 0017)
    refunds: list[Refund] = field(default_factory=list)
    links: list[GiftCardLink] = field(default_factory=list)
    returns: list[OrderReturn] = field(default_factory=list)
    points: OrderPoints = field(default_factory=OrderPoints)
    version: int = 1
    # Recorded by commands, handed to the message bus's handlers before the commit; never
    # loaded (they are facts about this change, not state).
    events: list[DomainEvent] = field(default_factory=list)

    # ------------------------------------------------------------ money queries
    # Prices are tax-exclusive: total = subtotal - discount + shipping amount + tax.
    @property
    def subtotal(self) -> Money:
        """The lines' unit prices times their quantities, before discounts and tax."""
        return sum_money((line.subtotal for line in self.lines), self.currency)

    @property
    def discount(self) -> Money:
        return sum_money((line.discount for line in self.lines), self.currency)

    @property
    def tax(self) -> Money:
        """The lines' tax and the shipping's."""
        lines = sum_money((line.tax for line in self.lines), self.currency)
        return lines + self.shipping.tax

    @property
    def total(self) -> Money:
        lines = sum_money((line.total for line in self.lines), self.currency)
        return lines + self.shipping.amount + self.shipping.tax

    @property
    def sales(self) -> tuple[Money, Money, Money]:
        """What the order sold, as the reports count it: the subtotal, discount and line
        tax of its units less those cancelled before any capture (never sold: the capture
        took only ``live_total``), valued with the allocator's shares as ``value_of``."""
        lines = self.lines
        return (
            sum_money((line.unit_price * line.sold_quantity for line in lines), self.currency),
            sum_money((line.sold_discount for line in lines), self.currency),
            sum_money((line.share(line.tax, line.sold_quantity) for line in lines), self.currency),
        )

    @property
    def live_total(self) -> Money:
        """The total less what units cancelled before any capture were worth: what the order
        still sells, so the most a capture may take. (Units cancelled once money was
        captured are refunded instead: they stay in ``total`` and in the capture.)"""
        lines = sum_money(
            (line.value_of(line.quantity - line.cancelled_quantity) for line in self.lines),
            self.currency,
        )
        return lines + self.shipping.amount + self.shipping.tax

    @property
    def refunded(self) -> Money:
        return sum_money(
            (refund.amount for refund in self.refunds if refund.counts_against_cap),
            self.currency,
        )

    @property
    def points_value_refunded(self) -> Money:
        """Of ``refunded``, the part given back in points (redeem orders)."""
        return sum_money(
            (
                refund.points_value
                for refund in self.refunds
                if refund.counts_against_cap and refund.points_value is not None
            ),
            self.currency,
        )

    @property
    def store_credit_refunded(self) -> Money:
        """Of ``refunded``, the part given (or, while pending, to be given) back as store
        credit."""
        return sum_money(
            (
                refund.store_credit_value
                for refund in self.refunds
                if refund.counts_against_cap and refund.store_credit_value is not None
            ),
            self.currency,
        )

    @property
    def store_credit_returnable(self) -> Money:
        """Of the store credit the checkout spent, what no refund has given back yet: the
        next refunds give it back first."""
        left = self.payment.store_credit_paid - self.store_credit_refunded
        return left if left.minor > 0 else Money.zero(self.currency)

    @property
    def refundable(self) -> Money:
        remaining = self.payment.captured - self.refunded
        return remaining if remaining.minor > 0 else Money.zero(self.currency)

    # ------------------------------------------------------------- line queries
    def line(self, line_id: uuid.UUID) -> OrderLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise UnknownOrderLine(f"order {self.id} has no line {line_id}", line_id=str(line_id))

    def line_refunds(self, line_id: uuid.UUID) -> LineRefundTotals:
        return refund_calculation.line_refund_totals(self.refunds, line_id, self.currency)

    def shipping_refunded(self) -> tuple[Money, Money]:
        return refund_calculation.shipping_refund_totals(self.refunds, self.currency)

    def open_quantity(self, line: OrderLine) -> int:
        """Units still waiting to ship."""
        removed = line.cancelled_quantity + self.line_refunds(line.id).unfulfilled_quantity
        return line.quantity - line.fulfilled_quantity - removed

    def refundable_quantity(self, line: OrderLine, as_of: datetime) -> int:
        """Units that may still be refunded by line (not those an active return holds:
        its refund gives them back). A gift-card link is refundable only
        while it could be cancelled (unopened, unexpired, unspent): its value is with the
        consumer otherwise, and a refund kills the link like a cancel does."""
        units_left = (
            line.quantity
            - line.cancelled_quantity
            - self.line_refunds(line.id).quantity
            - self.units_in_returns(line.id)
        )
        if line.kind is LineKind.GIFT_CARD_LINK and self.links_of(line.id):
            # Both bounds: links refunded before refunds killed them are still alive.
            return min(units_left, len(self.refundable_links(line, as_of)))
        return units_left

    def units_in_returns(self, line_id: uuid.UUID) -> int:
        """Shipped units of the line held by active returns: not refundable by line, and
        not returnable twice, until their return closes."""
        return sum(order_return.units_held(line_id) for order_return in self.returns)

    @property
    def fulfilment_status(self) -> FulfilmentStatus:
        fulfilled = sum(line.fulfilled_quantity for line in self.lines)
        if fulfilled == 0:
            return FulfilmentStatus.UNFULFILLED
        if any(self.open_quantity(line) > 0 for line in self.lines):
            return FulfilmentStatus.PARTIALLY_FULFILLED
        return FulfilmentStatus.FULFILLED

    # ------------------------------------------------------------ gift-card links
    def links_of(self, line_id: uuid.UUID) -> list[GiftCardLink]:
        return [link for link in self.links if link.order_line_id == line_id]

    def live_links(self, line_id: uuid.UUID) -> list[GiftCardLink]:
        """The line's links not cancelled yet (opened and spent ones included)."""
        return [link for link in self.links_of(line_id) if link.cancelled_at is None]

    def refundable_links(self, line: OrderLine, as_of: datetime) -> list[GiftCardLink]:
        """The line's links that could still be cancelled, so refunded by line."""
        return [
            link
            for link in self.links_of(line.id)
            if link.cancelled_at is None and link.cancellation_blocker(as_of) is None
        ]

    # ---------------------------------------------------------------- status
    def status_from_ledger(self) -> OrderStatus:
        """The status the refund ledger gives a paid order: paid, partially or fully
        refunded. Refunds and failed refunds move the order to it; the ledger check
        compares it with the stored status."""
        refunded = self.refunded
        if refunded.minor == 0:
            return OrderStatus.PAID
        if refunded >= self.payment.captured:
            return OrderStatus.FULLY_REFUNDED
        return OrderStatus.PARTIALLY_REFUNDED

    def _move_to(self, target: OrderStatus, now: datetime) -> None:
        if target is not self.status:
            if not can_transition(self.status, target):
                raise IllegalTransition(
                    f"order {self.id} cannot go from {self.status} to {target}",
                    current=self.status.value,
                    target=target.value,
                )
            self.status = target
        self._touch(now)

    def _touch(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now
