"""A plain-Python reference model of one merchant's orders, refunds, points and float.

It is written from the rules in README.md and docs/rules.md, not from the code: money is
plain ints of EUR cents, shares are worked out by rounding half up (what a largest-remainder
split of two parts gives, ties to the first part), and nothing from ``refundry`` is called.
The only things taken from the package are the error types, which are the contract an
illegal action must honour.

Where the documents are silent the model follows what the code is known to do, and says so
where it does (search for "silent").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from refundry.domain.errors import (
    EmptyRefund,
    FloatInsufficient,
    FulfilmentExceedsOpen,
    InsufficientPoints,
    InvalidAmount,
    InvalidInput,
    ItemNotCancellable,
    LinkAccessed,
    LinkAlreadyCancelled,
    OrderAlreadyCancelled,
    OrderAlreadyRefunded,
    OrderFulfilled,
    OrderNotCancellable,
    OrderNotCapturable,
    OrderNotFulfillable,
    OrderNotRefundable,
    RefundExceedsRefundable,
    RefundQuantityExceeded,
    RefundryError,
)

# Order statuses and the transition table, as docs/rules.md and the README draw them.
PENDING, AUTHORIZED, PAID = "pending", "authorized", "paid"
PARTIALLY_REFUNDED, FULLY_REFUNDED = "partially_refunded", "fully_refunded"
CANCELLED, AUTO_REFUNDED = "cancelled", "auto_refunded"
TERMINAL = frozenset({CANCELLED, AUTO_REFUNDED})
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({AUTHORIZED, PAID, CANCELLED}),
    AUTHORIZED: frozenset({PAID, CANCELLED}),
    PAID: frozenset({PARTIALLY_REFUNDED, FULLY_REFUNDED, CANCELLED, AUTO_REFUNDED}),
    PARTIALLY_REFUNDED: frozenset({PAID, FULLY_REFUNDED, CANCELLED, AUTO_REFUNDED}),
    FULLY_REFUNDED: frozenset({PAID, PARTIALLY_REFUNDED}),
    CANCELLED: frozenset(),
    AUTO_REFUNDED: frozenset(),
}

# Refund statuses; every one but ``failed`` counts against the cap.
NOT_REQUESTED, STARTED, COMPLETED, FAILED = "not_requested", "started", "completed", "failed"

PHYSICAL, DIGITAL, GIFT = "physical", "digital", "gift_card_link"
EUR_SCALE = 100  # minor units per euro: points are earned per whole euro paid


class Rejected(Exception):
    """The model's verdict that an action is illegal, with the error the system must raise."""

    def __init__(self, error: type[RefundryError], why: str) -> None:
        super().__init__(f"{error.__name__}: {why}")
        self.error = error


def share(total: int, part: int, whole: int) -> int:
    """The share of ``total`` owed to ``part`` of ``whole``: exact, rounded half up."""
    assert 0 <= part <= whole
    if whole == 0:
        return 0
    return (2 * total * part + whole) // (2 * whole)


@dataclass
class Line:
    kind: str
    sku: str
    quantity: int
    unit_price: int
    discount: int
    tax: int
    fulfilled: int = 0
    cancelled: int = 0  # stopped with no refund record

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity - self.discount + self.tax

    def value_of(self, units: int) -> int:
        """What ``units`` of the line are worth, each share as a refund of them counts it."""
        discount = share(self.discount, units, self.quantity)
        return self.unit_price * units - discount + share(self.tax, units, self.quantity)


@dataclass
class Link:
    line: int
    opened: bool = False
    cancelled: bool = False

    @property
    def cancellable(self) -> bool:
        return not self.cancelled and not self.opened


@dataclass(frozen=True)
class RefundLine:
    line: int
    quantity: int
    unfulfilled: int
    restocked: int
    subtotal: int
    discount: int
    tax: int

    @property
    def amount(self) -> int:
        return self.subtotal - self.discount + self.tax


@dataclass(frozen=True)
class Breakdown:
    lines: tuple[RefundLine, ...]
    shipping: int
    shipping_tax: int
    goodwill: int
    adjustment: int

    @property
    def total(self) -> int:
        lines = sum(line.amount for line in self.lines)
        return lines + self.shipping + self.shipping_tax + self.goodwill + self.adjustment


@dataclass(frozen=True)
class Request:
    lines: tuple[tuple[int, int, bool], ...] = ()  # (line index, quantity, restock)
    shipping: int | None = None
    amount: int | None = None
    everything: bool = False
    restock_all: bool = False


@dataclass
class Refund:
    kind: str
    method: str
    breakdown: Breakdown
    status: str
    sequence: int  # creation order across the shop: the order the worker sends them in
    points_value: int | None = None
    points_reversed: int = 0
    points_restored: int = 0
    via_gateway: bool = False  # card money: sent to the gateway through the outbox
    failed_while_stopped: bool = False  # refused when the order was already stopped
    id: uuid.UUID | None = None  # the system's id, learnt when it is made

    @property
    def amount(self) -> int:
        return self.breakdown.total

    @property
    def money_amount(self) -> int:
        return self.amount - (self.points_value or 0)

    @property
    def counts(self) -> bool:
        return self.status != FAILED

    @property
    def pending(self) -> bool:
        return self.status == STARTED


@dataclass
class Order:
    external_id: str
    method: str  # card, other, points, float
    manual_capture: bool
    lines: list[Line]
    links: list[Link]
    shipping: int
    shipping_tax: int
    authorized: int
    captured: int
    auth_state: str
    status: str
    redeemed: int = 0  # points the checkout spent
    points_value: int = 0  # what they paid of ``captured``
    earned: int = 0
    reversed: int = 0
    restored: int = 0
    refunds: list[Refund] = field(default_factory=list)
    intent: str | None = None  # the gateway's payment intent
    has_record: bool = False  # reconciliation: its transaction record was imported
    changes: int = 0  # successful changes: a quote is stale once this moves
    id: uuid.UUID | None = None

    # ----------------------------------------------------------------- queries
    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines) + self.shipping + self.shipping_tax

    @property
    def live_total(self) -> int:
        """The total less what units cancelled before any capture were worth: the most a
        capture takes (a full capture took them too, and left their money on the order)."""
        lines = sum(line.value_of(line.quantity - line.cancelled) for line in self.lines)
        return lines + self.shipping + self.shipping_tax

    @property
    def refunded(self) -> int:
        return sum(refund.amount for refund in self.refunds if refund.counts)

    @property
    def refundable(self) -> int:
        return max(self.captured - self.refunded, 0)

    @property
    def value_refunded(self) -> int:
        return sum(refund.points_value or 0 for refund in self.refunds if refund.counts)

    @property
    def money_captured(self) -> int:
        return self.captured - self.points_value

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def default_method(self) -> str:
        return {"other": "other", "float": "float"}.get(self.method, "original")

    def line_refunds(self, index: int) -> list[RefundLine]:
        return [
            line
            for refund in self.refunds
            if refund.counts
            for line in refund.breakdown.lines
            if line.line == index
        ]

    def refunded_quantity(self, index: int) -> int:
        return sum(line.quantity for line in self.line_refunds(index))

    def open_quantity(self, index: int) -> int:
        line = self.lines[index]
        unfulfilled = sum(refunded.unfulfilled for refunded in self.line_refunds(index))
        return line.quantity - line.fulfilled - line.cancelled - unfulfilled

    def links_of(self, index: int) -> list[Link]:
        return [link for link in self.links if link.line == index]

    def refundable_quantity(self, index: int) -> int:
        line = self.lines[index]
        left = line.quantity - line.cancelled - self.refunded_quantity(index)
        if line.kind == GIFT:
            # A link is refundable by line only while it could be cancelled.
            return min(left, sum(link.cancellable for link in self.links_of(index)))
        return left

    def shipping_refunded(self) -> tuple[int, int]:
        counting = [refund for refund in self.refunds if refund.counts]
        return (
            sum(refund.breakdown.shipping for refund in counting),
            sum(refund.breakdown.shipping_tax for refund in counting),
        )

    def ledger_status(self) -> str:
        if self.refunded == 0:
            return PAID
        return FULLY_REFUNDED if self.refunded >= self.captured else PARTIALLY_REFUNDED

    def fulfilment_status(self) -> str:
        if sum(line.fulfilled for line in self.lines) == 0:
            return "unfulfilled"
        if any(self.open_quantity(index) > 0 for index in range(len(self.lines))):
            return "partially_fulfilled"
        return "fulfilled"

    def move_to(self, status: str) -> None:
        if status != self.status:
            assert status in TRANSITIONS[self.status], f"model: {self.status} -> {status}"
            self.status = status

    def owed_stop_refund(self) -> Refund | None:
        """The earliest cancellation or automatic refund that failed while the order was
        stopped and was not made again since (same kind, units and shipping)."""
        if not self.terminal or self.refundable == 0:
            return None
        for position, failed in enumerate(self.refunds):
            if failed.kind not in ("cancellation", "auto_refund") or failed.status != FAILED:
                continue
            if not failed.failed_while_stopped:
                continue
            shape = (
                [(x.line, x.quantity) for x in failed.breakdown.lines],
                failed.breakdown.shipping,
            )
            if not any(
                later.kind == failed.kind
                and (
                    [(x.line, x.quantity) for x in later.breakdown.lines],
                    later.breakdown.shipping,
                )
                == shape
                for later in self.refunds[position + 1 :]
            ):
                return failed
        return None

    # ------------------------------------------------------------ refund maths
    def calculate(self, request: Request) -> Breakdown:
        """What ``request`` gives back now, or the rejection the system must make. Which
        error wins when several apply is silent in the docs: the model checks in the
        code's order (status, nothing left, shipping, lines in turn, then the total)."""
        if self.status in (PAID, PARTIALLY_REFUNDED):
            pass
        elif self.terminal and self.refundable > 0:
            pass  # a failed cancellation or automatic refund: the money is still owed
        elif self.status == FULLY_REFUNDED:
            raise Rejected(RefundExceedsRefundable, "fully refunded")
        else:
            raise Rejected(OrderNotRefundable, f"order is {self.status}")
        refundable = self.refundable
        if refundable == 0:
            raise Rejected(RefundExceedsRefundable, "nothing left")
        owed = self.owed_stop_refund()
        if owed is not None:
            # A stopped order's failed cancellation (or automatic) refund is retried as
            # itself, whole: the same units, shares and shipping, restocking nothing again.
            if not request.everything:
                raise Rejected(OrderNotRefundable, "retry the failed stop refund whole")
            again = Breakdown(
                tuple(replace(line, restocked=0) for line in owed.breakdown.lines),
                owed.breakdown.shipping,
                owed.breakdown.shipping_tax,
                owed.breakdown.goodwill,
                owed.breakdown.adjustment,
            )
            short = again.total - refundable
            return replace(again, adjustment=again.adjustment - short) if short > 0 else again
        shipping_refunded, shipping_tax_refunded = self.shipping_refunded()
        shipping_left = self.shipping - shipping_refunded
        if request.everything and self.terminal:
            # The goods are stopped; only the money is owed, whole.
            return Breakdown((), 0, 0, refundable, 0)
        if request.everything:
            wanted = tuple(
                (index, left, request.restock_all)
                for index in range(len(self.lines))
                if (left := self.refundable_quantity(index)) > 0
            )
            shipping, goodwill = shipping_left, 0
        else:
            if not request.lines and not request.shipping and not request.amount:
                raise Rejected(EmptyRefund, "empty request")
            wanted = request.lines
            shipping, goodwill = request.shipping or 0, request.amount or 0
            if shipping > shipping_left:
                raise Rejected(RefundExceedsRefundable, "shipping")
        if len({index for index, _, _ in wanted}) != len(wanted):
            raise Rejected(InvalidInput, "a line listed twice")
        lines = tuple(
            self._refund_line(index, quantity, restock) for index, quantity, restock in wanted
        )
        shipping_tax = (
            share(self.shipping_tax, shipping_refunded + shipping, self.shipping)
            - shipping_tax_refunded
        )
        breakdown = Breakdown(lines, shipping, shipping_tax, goodwill, 0)
        if request.everything and breakdown.total > refundable:
            # Less money is left than goods: the difference is recorded as an adjustment.
            breakdown = Breakdown(lines, shipping, shipping_tax, 0, refundable - breakdown.total)
        if breakdown.total <= 0:
            raise Rejected(RefundExceedsRefundable, "gives back nothing")
        if breakdown.total > refundable:
            raise Rejected(RefundExceedsRefundable, "over the cap")
        return breakdown

    def _refund_line(self, index: int, quantity: int, restock: bool) -> RefundLine:
        line = self.lines[index]
        left = self.refundable_quantity(index)
        if quantity <= 0:
            raise Rejected(InvalidInput, "quantity must be positive")
        if quantity > left:
            raise Rejected(RefundQuantityExceeded, f"line {index}: {quantity} > {left}")
        before = self.line_refunds(index)
        after = sum(refunded.quantity for refunded in before) + quantity
        # Unshipped units go first: they will never ship now.
        unfulfilled = min(quantity, self.open_quantity(index))
        restocked = (quantity if restock else unfulfilled) if line.kind == PHYSICAL else 0
        return RefundLine(
            line=index,
            quantity=quantity,
            unfulfilled=unfulfilled,
            restocked=restocked,
            subtotal=line.unit_price * quantity,
            discount=share(line.discount, after, line.quantity)
            - sum(refunded.discount for refunded in before),
            tax=share(line.tax, after, line.quantity) - sum(refunded.tax for refunded in before),
        )

    def points_value_share(self, amount: int) -> int | None:
        """For a redeem order, the part of a new refund of ``amount`` given back in points:
        what brings the points' refunded value to its cumulative share of the refunded
        total, never leaving the money part above the money left."""
        if self.points_value == 0:
            return None
        already = self.value_refunded
        money_left = self.money_captured - (self.refunded - already)
        after = min(self.refunded + amount, self.captured)
        target = share(self.points_value, after, self.captured) - already
        part = min(max(target, amount - money_left, 0), amount, self.points_value - already)
        return max(part, 0)


@dataclass
class PointsLedgerEntry:
    kind: str
    points: int
    shortfall: int
    order: Order
    refund: Refund | None = None


@dataclass
class Shop:
    """Everything the model knows about one merchant."""

    points_per_unit: int
    rounding: str
    shortfall_policy: str
    float_balance: int
    orders: list[Order] = field(default_factory=list)
    ledger: list[PointsLedgerEntry] = field(default_factory=list)
    stock: dict[str, int] = field(default_factory=dict)
    records_imported: bool = False  # reconciliation covers the merchant's orders from then on
    auto_refunded: list[Order] = field(default_factory=list)
    failed_reversals_open: set[int] = field(default_factory=set)  # order indexes
    refund_sequence: int = 0

    @property
    def points_balance(self) -> int:
        return sum(entry.points for entry in self.ledger)

    def points_earned(self, paid: int) -> int:
        whole, remainder = divmod(paid * self.points_per_unit, EUR_SCALE)
        if remainder == 0 or self.rounding == "down":
            return whole
        if self.rounding == "up":
            return whole + 1
        return whole + (1 if 2 * remainder >= EUR_SCALE else 0)

    def restock(self, order: Order, lines: Iterable[RefundLine], sign: int = 1) -> None:
        for refunded in lines:
            line = order.lines[refunded.line]
            if line.kind == PHYSICAL and refunded.restocked:
                self.stock[line.sku] = self.stock.get(line.sku, 0) + sign * refunded.restocked

    # ----------------------------------------------------------------- orders
    def place(self, order: Order) -> None:
        if order.method == "float" and order.total > self.float_balance:
            raise Rejected(FloatInsufficient, "float too low")
        if order.redeemed and order.redeemed > self.points_balance:
            raise Rejected(InsufficientPoints, "too few points")
        if order.method == "float":
            self.float_balance -= order.total
        if order.redeemed:
            self.ledger.append(PointsLedgerEntry("redeemed", -order.redeemed, 0, order))
        self.orders.append(order)
        self.award(order)
        for line in order.lines:
            if line.kind == PHYSICAL:
                self.stock[line.sku] = self.stock.get(line.sku, 0) - line.quantity

    def award(self, order: Order) -> None:
        """Points are earned on the money paid, never on the part paid with points."""
        earned = self.points_earned(order.money_captured)
        if order.earned or not earned or order.captured == 0:
            return
        order.earned = earned
        self.ledger.append(PointsLedgerEntry("earned", earned, 0, order))

    def authorize(self, order: Order, amount: int) -> None:
        if order.status != PENDING:
            raise Rejected(OrderNotCapturable, f"order is {order.status}")
        order.authorized = amount
        order.auth_state = "active"
        order.move_to(AUTHORIZED)
        order.changes += 1

    def capture(self, order: Order, amount: int | None) -> None:
        if order.status != AUTHORIZED:
            raise Rejected(OrderNotCapturable, f"order is {order.status}")
        capturable = min(order.authorized, order.live_total)
        if amount is not None and not 0 < amount <= capturable:
            raise Rejected(InvalidAmount, f"at most {capturable} can be captured")
        order.captured = capturable if amount is None else amount
        order.auth_state = "captured"
        order.move_to(PAID)
        self.award(order)
        order.changes += 1

    def fulfil(self, order: Order, quantities: dict[int, int] | None) -> None:
        if order.status in (PENDING, CANCELLED, AUTO_REFUNDED):
            raise Rejected(OrderNotFulfillable, f"order is {order.status}")
        if quantities is None:
            quantities = {
                index: units
                for index in range(len(order.lines))
                if (units := order.open_quantity(index)) > 0
            }
            if not quantities:
                raise Rejected(FulfilmentExceedsOpen, "nothing open")
        for index, units in quantities.items():
            if not 0 < units <= order.open_quantity(index):
                raise Rejected(FulfilmentExceedsOpen, f"line {index}")
        if order.status == AUTHORIZED and order.manual_capture:
            self.capture(order, None)  # goods leave only once they are paid for
        for index, units in quantities.items():
            order.lines[index].fulfilled += units
        order.changes += 1

    def resolve_method(self, order: Order, requested: str | None) -> str:
        if requested in (None, "original"):
            return order.default_method
        if requested == "float" and order.method != "float":
            raise Rejected(InvalidInput, "only a float-paid order is refunded to the float")
        assert requested is not None
        return requested

    def record_refund(
        self, order: Order, breakdown: Breakdown, *, kind: str, method: str, derive: bool
    ) -> Refund:
        self.refund_sequence += 1
        refund = Refund(
            kind=kind,
            method=method,
            breakdown=breakdown,
            status=NOT_REQUESTED if method == "other" else STARTED,
            sequence=self.refund_sequence,
        )
        refund.points_value = order.points_value_share(refund.amount)
        order.refunds.append(refund)
        self.rebalance_points(order, refund)
        if refund.points_value is not None and refund.money_amount == 0 and refund.pending:
            refund.status = COMPLETED  # all of it goes back as points, at once
        refund.via_gateway = method == "original" and order.method == "card" and refund.pending
        if derive and not order.terminal:
            order.move_to(order.ledger_status())
        order.changes += 1
        return refund

    def kill_refunded_links(self, order: Order, refund: Refund) -> None:
        """Refunded gift-card link units cancel that many links that could still be
        cancelled, so a refunded link can never be opened or spent."""
        for refunded in refund.breakdown.lines:
            if order.lines[refunded.line].kind != GIFT:
                continue
            live = [link for link in order.links_of(refunded.line) if link.cancellable]
            for link in live[: refunded.quantity]:
                link.cancelled = True

    def refund(self, order: Order, request: Request, requested_method: str | None) -> Refund:
        method = self.resolve_method(order, requested_method)
        breakdown = order.calculate(request)
        owed = order.owed_stop_refund()
        if owed is not None:
            for refunded in breakdown.lines:
                order.lines[refunded.line].cancelled -= refunded.unfulfilled
            return self.record_refund(order, breakdown, kind=owed.kind, method=method, derive=False)
        refund = self.record_refund(order, breakdown, kind="refund", method=method, derive=True)
        self.kill_refunded_links(order, refund)
        self.restock(order, breakdown.lines)
        return refund

    def cancel(self, order: Order) -> Refund | None:
        if order.status == CANCELLED:
            raise Rejected(OrderAlreadyCancelled, "cancelled")
        if order.status in (AUTO_REFUNDED, FULLY_REFUNDED):
            raise Rejected(OrderAlreadyRefunded, order.status)
        if any(line.fulfilled for line in order.lines):
            raise Rejected(OrderFulfilled, "fulfilled units")
        if any(link.opened and not link.cancelled for link in order.links):
            raise Rejected(OrderNotCancellable, "an opened link")
        refund = None
        if order.captured > 0:
            breakdown = order.calculate(Request(everything=True, restock_all=True))
            refund = self.record_refund(
                order, breakdown, kind="cancellation", method=order.default_method, derive=False
            )
            self.restock(order, breakdown.lines)
        for link in order.links:
            link.cancelled = True
        for index, line in enumerate(order.lines):
            units = order.open_quantity(index)
            if units > 0:
                line.cancelled += units
                if line.kind == PHYSICAL:
                    self.stock[line.sku] = self.stock.get(line.sku, 0) + units
        if order.auth_state == "active":
            order.auth_state = "void_pending"
        order.move_to(CANCELLED)
        order.changes += 1
        return refund

    def cancel_item(self, order: Order, line_index: int, link: Link | None) -> Refund | None:
        if order.terminal:
            raise Rejected(ItemNotCancellable, f"order is {order.status}")
        line = order.lines[line_index]
        if link is not None:
            if link.cancelled:
                raise Rejected(LinkAlreadyCancelled, "link cancelled")
            if link.opened:
                raise Rejected(LinkAccessed, "link opened")
            links = [link]
        else:
            links = [each for each in order.links_of(line_index) if not each.cancelled]
            if line.kind == GIFT:
                if not links or any(each.opened for each in links):
                    raise Rejected(ItemNotCancellable, "no live link, or an opened one")
            elif line.fulfilled:
                raise Rejected(ItemNotCancellable, "fulfilled units")
            elif order.open_quantity(line_index) == 0:
                raise Rejected(ItemNotCancellable, "nothing open")
        units = len(links) if line.kind == GIFT else order.open_quantity(line_index)
        # Issue 19: the last item of an unshipped order cancels the order (seed 000).
        last_item = (
            order.open_quantity(line_index) == units
            and not any(each.fulfilled for each in order.lines)
            and all(
                order.open_quantity(other) == 0
                for other in range(len(order.lines))
                if other != line_index
            )
        )
        refund = None
        if order.captured == 0:
            line.cancelled += units
            # Cancels of unshipped units put them back on the shelf (README: Stock).
            if line.kind == PHYSICAL:
                self.stock[line.sku] = self.stock.get(line.sku, 0) + units
            order.changes += 1
        else:
            breakdown = order.calculate(
                Request(everything=True, restock_all=True)
                if last_item
                else Request(lines=((line_index, units, False),))
            )
            refund = self.record_refund(
                order,
                breakdown,
                kind="cancellation",
                method=order.default_method,
                derive=not last_item,
            )
            self.restock(order, breakdown.lines)
        for each in links:
            each.cancelled = True
        if last_item:
            if order.auth_state == "active":
                order.auth_state = "void_pending"
            order.move_to(CANCELLED)
            order.changes += 1
        return refund

    def open_link(self, order: Order, link: Link) -> None:
        if link.cancelled:
            raise Rejected(LinkAlreadyCancelled, "link cancelled")
        if not link.opened:
            link.opened = True
            order.changes += 1

    # ------------------------------------------------------ provider outcomes
    def complete(self, order: Order, refund: Refund) -> None:
        refund.status = COMPLETED
        order.changes += 1

    def fail(self, order: Order, refund: Refund) -> None:
        """The provider refused: the money and units are refundable again (and its points
        move back), except on a stopped order, whose units stay cancelled and on the shelf.

        Silent in the docs, so as the code does: an item cancel's refund that fails gives
        its units back as open units (though an item cancel is called irreversible), and
        gift-card links a failed refund cancelled stay cancelled, so their units are
        refundable again only as an amount."""
        refund.status = FAILED
        refund.failed_while_stopped = order.terminal
        self.rebalance_points(order, refund)
        if order.terminal:
            for refunded in refund.breakdown.lines:
                order.lines[refunded.line].cancelled += refunded.unfulfilled
        else:
            order.move_to(order.ledger_status())
            self.restock(order, refund.breakdown.lines, sign=-1)
        order.changes += 1

    # ----------------------------------------------------------------- points
    def rebalance_points(self, order: Order, refund: Refund) -> None:
        """Keep exactly the refunded share of the earned points reversed (on the money
        refunded as money) and of the redeemed points restored (on the points' value
        refunded), and write the ledger entries the change makes."""
        money_whole = order.captured - order.points_value
        money_refunded = min(order.refunded - order.value_refunded, money_whole)
        reversal = share(order.earned, money_refunded, money_whole) - order.reversed
        value_refunded = min(order.value_refunded, order.points_value)
        restoral = share(order.redeemed, value_refunded, order.points_value) - order.restored
        order.reversed += reversal
        order.restored += restoral
        refund.points_reversed += reversal
        refund.points_restored += restoral
        # The reversal's entry is written before the restoration's (silent in the docs;
        # it matters only to how much a shortfall policy can take back).
        if reversal > 0:
            taken, shortfall = self._take_back(reversal)
            self._entry("reversed", -taken, shortfall, order, refund)
        elif reversal < 0:
            # A failed refund: give back what the ledger took, never more.
            taken = -sum(
                entry.points
                for entry in self.ledger
                if entry.order is order and entry.kind in ("reversed", "adjusted")
            )
            self._entry(
                "adjusted", max(0, min(-reversal, taken - order.reversed)), 0, order, refund
            )
        if restoral > 0:
            given = sum(
                entry.points
                for entry in self.ledger
                if entry.order is order and entry.kind == "restored"
            )
            self._entry("restored", max(0, min(restoral, order.redeemed - given)), 0, order, refund)
        elif restoral < 0:
            taken, shortfall = self._take_back(-restoral)
            self._entry("restored", -taken, shortfall, order, refund)

    def _take_back(self, owed: int) -> tuple[int, int]:
        if self.shortfall_policy == "allow_negative":
            return owed, 0
        taken = min(owed, max(self.points_balance, 0))
        return taken, owed - taken

    def _entry(self, kind: str, points: int, shortfall: int, order: Order, refund: Refund) -> None:
        if points or shortfall:
            self.ledger.append(PointsLedgerEntry(kind, points, shortfall, order, refund))

    # -------------------------------------------------------- reconciliation
    def reconcile(self, *, grace_passed: bool) -> list[Order]:
        """Redeem orders settled without a record are reversed, once records cover them
        and the grace period has passed; a reversal still owing money is reported."""
        reversed_now = []
        for order in self.orders if self.records_imported and grace_passed else []:
            if (
                order.redeemed
                and order.status in (PAID, PARTIALLY_REFUNDED)
                and not order.has_record
            ):
                self.auto_refund(order)
                reversed_now.append(order)
        self.auto_refunded += reversed_now
        self.failed_reversals_open = {
            index
            for index, order in enumerate(self.orders)
            if order.status == AUTO_REFUNDED and order.refunded < order.captured
        }
        return reversed_now

    def auto_refund(self, order: Order) -> Refund:
        """Everything still refundable goes back, money and points; units no longer
        refundable by line were paid for too, so then all the money goes back as an amount."""
        try:
            by_lines = order.calculate(Request(everything=True)).total
        except Rejected as verdict:
            if verdict.error is not RefundExceedsRefundable:
                raise
            by_lines = 0
        request = (
            Request(everything=True)
            if by_lines >= order.refundable
            else Request(amount=order.refundable)
        )
        breakdown = order.calculate(request)
        refund = self.record_refund(
            order, breakdown, kind="auto_refund", method=order.default_method, derive=False
        )
        self.kill_refunded_links(order, refund)
        self.restock(order, breakdown.lines)
        order.move_to(AUTO_REFUNDED)
        return refund
