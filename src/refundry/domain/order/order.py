"""The order aggregate's root: identity, fields, version, status and its one transition,
and the money queries every rule reads.

An order changes only through its methods, each of which checks the transition table,
bumps ``version`` (what a refund quote is bound to) and leaves the money totals derivable
from the ledger: ``refunded`` is the sum of refunds that count, never a second number kept
beside them.

The methods are written in this package's concept modules as functions of the order and
bound on ``Order`` below, so ``order.cancel(...)`` stays the one way in while each rule
lives in a module of its own. ``_move_to`` and ``_touch`` are private to the package:
those modules call them, nothing outside it does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from refundry.domain.errors import IllegalTransition, UnknownOrderLine
from refundry.domain.events import DomainEvent
from refundry.domain.gift_card import GiftCardLink
from refundry.domain.money import Currency, Money
from refundry.domain.order import (
    cancellation,
    fulfilment,
    gift_cards,
    refund_calculation,
    refund_outcomes,
)
from refundry.domain.order import payment as payment_rules
from refundry.domain.order import points as points_rules
from refundry.domain.order import refunds as refund_rules
from refundry.domain.order.lines import OrderLine, Shipping
from refundry.domain.order.payment import Payment
from refundry.domain.order.refund_calculation import LineRefundTotals, RefundRequest
from refundry.domain.points import OrderPoints
from refundry.domain.refund import Refund, RefundBreakdown, sum_money
from refundry.domain.status import FulfilmentStatus, OrderStatus, can_transition


@dataclass(frozen=True, slots=True)
class Customer:
    email: str
    external_id: str | None = None


@dataclass(slots=True)
class Order:
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
    refunds: list[Refund] = field(default_factory=list)
    links: list[GiftCardLink] = field(default_factory=list)
    points: OrderPoints = field(default_factory=OrderPoints)
    version: int = 1
    # Recorded by commands, handed to the message bus's handlers before the commit; never
    # loaded (they are facts about this change, not state).
    events: list[DomainEvent] = field(default_factory=list)

    # ------------------------------------------------------------ money queries
    @property
    def total(self) -> Money:
        lines = sum_money((line.total for line in self.lines), self.currency)
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

    @property
    def fulfilment_status(self) -> FulfilmentStatus:
        return fulfilment.fulfilment_status(self)

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

    # ------------------------------------------------------------ behaviour
    # Bound from the concept modules; each function takes the order first. Three modules
    # go by ``*_rules`` names: ``payment``, ``points`` and ``refunds`` here are fields.
    # payment.py: holding and taking the customer's money.
    authorize = payment_rules.authorize
    capture = payment_rules.capture
    flag_lapsing_authorization = payment_rules.flag_lapsing_authorization
    authorization_voided = payment_rules.authorization_voided
    authorization_void_refused = payment_rules.authorization_void_refused
    # fulfilment.py: shipping units.
    check_fulfilment = fulfilment.check_fulfilment
    fulfil = fulfilment.fulfil
    # gift_cards.py: the consumer's links.
    links_of = gift_cards.links_of
    open_link = gift_cards.open_link
    spend_link = gift_cards.spend_link
    # cancellation.py: stopping the order, or one item, before it ships.
    cancel_blocker = cancellation.cancel_blocker
    item_cancel_blocker = cancellation.item_cancel_blocker
    cancel = cancellation.cancel
    cancel_item = cancellation.cancel_item
    # refunds.py: the refund ledger and its cap.
    refund_by_id = refund_rules.refund_by_id
    refund_method = refund_rules.refund_method
    refundable_quantity = refund_rules.refundable_quantity
    refund = refund_rules.refund
    auto_refund = refund_rules.auto_refund
    record_external_refund = refund_rules.record_external_refund
    # refund_outcomes.py: the provider's answers about a refund.
    refund_processing = refund_outcomes.refund_processing
    complete_refund = refund_outcomes.complete_refund
    fail_refund = refund_outcomes.fail_refund
    # points.py: the order's share of loyalty points.
    award_points = points_rules.award_points
    redeem_points = points_rules.redeem_points
    preview_points = points_rules.preview_points

    def preview_refund(self, request: RefundRequest, as_of: datetime) -> RefundBreakdown:
        """The refund ``request`` would make as of ``as_of``; changes nothing."""
        return refund_calculation.calculate_refund(self, request, as_of)
