"""The order aggregate: lines, shipping, payment, fulfilment and its refund ledger.

An order changes only through its methods, each of which checks the transition
table, bumps ``version`` (what a refund quote is bound to) and leaves the money
totals derivable from the ledger: ``refunded`` is the sum of refunds that count,
never a second number kept beside them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from refundry.domain import refund_calculation
from refundry.domain.errors import (
    FulfilmentExceedsOpen,
    IllegalTransition,
    InvalidOrder,
    OrderAlreadyCancelled,
    OrderAlreadyRefunded,
    OrderFulfilled,
    OrderNotCapturable,
    OrderNotFulfillable,
    UnknownOrderLine,
)
from refundry.domain.money import Currency, Money
from refundry.domain.refund import (
    Refund,
    RefundBreakdown,
    RefundKind,
    RefundMethod,
    RefundStatus,
    sum_money,
)
from refundry.domain.refund_calculation import LineRefundTotals, RefundRequest
from refundry.domain.status import FulfilmentStatus, OrderStatus, can_transition

DEFAULT_CANCEL_REASON = "Order cancelled via API"
# No real order comes near this (10^13 euros); it keeps every sum inside 64 bits.
MAX_ORDER_TOTAL_MINOR = 10**15
DEFAULT_CANCEL_LABEL = "cancelled"


class LineKind(StrEnum):
    PHYSICAL = "physical"
    DIGITAL = "digital"
    GIFT_CARD_LINK = "gift_card_link"


class PaymentMethod(StrEnum):
    CARD = "card"
    KLARNA = "klarna"
    POINTS = "points"
    OTHER = "other"


class CaptureMode(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class AuthorizationState(StrEnum):
    """Where the hold on the customer's money stands."""

    NONE = "none"  # nothing authorized
    ACTIVE = "active"  # held, not captured
    CAPTURED = "captured"  # captured; any uncaptured rest is released
    VOID_PENDING = "void_pending"  # order cancelled; the hold must be released at the provider
    VOIDED = "voided"


@dataclass(frozen=True, slots=True)
class Customer:
    email: str
    external_id: str | None = None


@dataclass(slots=True)
class OrderLine:
    id: uuid.UUID
    sku: str
    name: str
    kind: LineKind
    quantity: int
    unit_price: Money  # tax-exclusive, per unit
    discount: Money  # line total
    tax: Money  # line total
    fulfilled_quantity: int = 0
    cancelled_quantity: int = 0  # stopped without a refund record (nothing was captured)

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity

    @property
    def total(self) -> Money:
        return self.subtotal - self.discount + self.tax

    @property
    def is_stocked(self) -> bool:
        return self.kind is LineKind.PHYSICAL


@dataclass(slots=True)
class Shipping:
    amount: Money
    tax: Money


@dataclass(slots=True)
class Payment:
    method: PaymentMethod
    capture_mode: CaptureMode
    authorized: Money
    captured: Money
    authorization_state: AuthorizationState


@dataclass(frozen=True, slots=True)
class Cancellation:
    refund: Refund | None  # set when captured money had to be given back
    restock: dict[str, int]  # sku -> units back on the shelf
    authorization_to_void: bool


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
    version: int = 1

    # ----------------------------------------------------------------- queries
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
    def refundable(self) -> Money:
        remaining = self.payment.captured - self.refunded
        return remaining if remaining.minor > 0 else Money.zero(self.currency)

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

    def refundable_quantity(self, line: OrderLine) -> int:
        return line.quantity - line.cancelled_quantity - self.line_refunds(line.id).quantity

    @property
    def fulfilment_status(self) -> FulfilmentStatus:
        fulfilled = sum(line.fulfilled_quantity for line in self.lines)
        if fulfilled == 0:
            return FulfilmentStatus.UNFULFILLED
        if any(self.open_quantity(line) > 0 for line in self.lines):
            return FulfilmentStatus.PARTIALLY_FULFILLED
        return FulfilmentStatus.FULFILLED

    @property
    def can_cancel(self) -> bool:
        try:
            self._check_cancellable()
        except (OrderAlreadyCancelled, OrderAlreadyRefunded, OrderFulfilled):
            return False
        return True

    def restock_for(self, refund: Refund) -> dict[str, int]:
        restock: dict[str, int] = {}
        for refund_line in refund.breakdown.lines:
            line = self.line(refund_line.order_line_id)
            if line.is_stocked and refund_line.restocked_quantity:
                restock[line.sku] = restock.get(line.sku, 0) + refund_line.restocked_quantity
        return restock

    # ---------------------------------------------------------------- commands
    def authorize(self, amount: Money | None, now: datetime) -> None:
        if self.status is not OrderStatus.PENDING:
            raise OrderNotCapturable(f"order is {self.status}; only a pending order is authorized")
        amount = self.total if amount is None else amount
        if not 0 < amount.minor <= self.total.minor:
            raise InvalidOrder("authorized amount must be positive and at most the order total")
        self.payment.authorized = amount
        self.payment.authorization_state = AuthorizationState.ACTIVE
        self._move_to(OrderStatus.AUTHORIZED, now)

    def capture(self, amount: Money | None, now: datetime) -> None:
        if self.status is not OrderStatus.AUTHORIZED:
            raise OrderNotCapturable(
                f"order is {self.status}; only an authorized order can be captured"
            )
        amount = self.payment.authorized if amount is None else amount
        if not 0 < amount.minor <= self.payment.authorized.minor:
            raise OrderNotCapturable(
                "capture must be positive and at most the authorized amount",
                authorized=self.payment.authorized.minor,
            )
        self.payment.captured = amount
        self.payment.authorization_state = AuthorizationState.CAPTURED
        self._move_to(OrderStatus.PAID, now)

    def fulfil(self, quantities: Mapping[uuid.UUID, int] | None, now: datetime) -> None:
        """Ship units; ``None`` ships every open unit."""
        if self.status in (OrderStatus.PENDING, OrderStatus.CANCELLED, OrderStatus.AUTO_REFUNDED):
            raise OrderNotFulfillable(f"order is {self.status}; it cannot be fulfilled")
        if quantities is None:
            quantities = {line.id: self.open_quantity(line) for line in self.lines}
            quantities = {line_id: qty for line_id, qty in quantities.items() if qty > 0}
            if not quantities:
                raise FulfilmentExceedsOpen("no unit of this order is left to fulfil")
        for line_id, quantity in quantities.items():
            line = self.line(line_id)
            open_units = self.open_quantity(line)
            if not 0 < quantity <= open_units:
                raise FulfilmentExceedsOpen(
                    f"line {line_id} has {open_units} open units; cannot fulfil {quantity}",
                    line_id=str(line_id),
                    open_quantity=open_units,
                )
        for line_id, quantity in quantities.items():
            self.line(line_id).fulfilled_quantity += quantity
        self._touch(now)

    def cancel(
        self,
        *,
        reason: str | None,
        status_label: str | None,
        created_by: str,
        now: datetime,
    ) -> Cancellation:
        """Stop the order for good: restock every open unit and undo the payment.

        An authorization is marked for voiding (money never left the customer). Captured
        money gets a cancellation refund for everything still refundable, so the sales
        report sees the cancel.
        """
        self._check_cancellable()
        reason = reason or DEFAULT_CANCEL_REASON
        refund: Refund | None = None
        restock: dict[str, int] = {}
        if self.payment.captured.minor > 0:
            refund = self._record_refund(
                RefundRequest.full(restock=True),
                kind=RefundKind.CANCELLATION,
                method=self.default_refund_method,
                reason=reason,
                created_by=created_by,
                now=now,
            )
            restock = self.restock_for(refund)
        # Units the cancellation refund did not cover (nothing captured, or lines
        # whose units were already refunded) are stopped without money moving.
        for line in self.lines:
            open_units = self.open_quantity(line)
            if open_units > 0:
                line.cancelled_quantity += open_units
                if line.is_stocked:
                    restock[line.sku] = restock.get(line.sku, 0) + open_units
        authorization_to_void = self.payment.authorization_state is AuthorizationState.ACTIVE
        if authorization_to_void:
            self.payment.authorization_state = AuthorizationState.VOID_PENDING
        self.cancel_reason = reason
        self.status_label = status_label or DEFAULT_CANCEL_LABEL
        self.cancelled_at = now
        self._move_to(OrderStatus.CANCELLED, now)
        return Cancellation(refund, restock, authorization_to_void)

    def preview_refund(self, request: RefundRequest) -> RefundBreakdown:
        return refund_calculation.calculate_refund(self, request)

    def refund(
        self,
        request: RefundRequest,
        *,
        method: RefundMethod | None,
        reason: str | None,
        created_by: str,
        now: datetime,
    ) -> Refund:
        """Give money back; ``method=None`` means the way the customer paid."""
        return self._record_refund(
            request,
            kind=RefundKind.REFUND,
            method=method or self.default_refund_method,
            reason=reason,
            created_by=created_by,
            now=now,
        )

    # --------------------------------------------------------------- internals
    def _check_cancellable(self) -> None:
        if self.status is OrderStatus.CANCELLED:
            raise OrderAlreadyCancelled(f"order {self.id} is already cancelled")
        if self.status in (OrderStatus.FULLY_REFUNDED, OrderStatus.AUTO_REFUNDED):
            raise OrderAlreadyRefunded(f"order {self.id} is already {self.status}")
        fulfilled = sum(line.fulfilled_quantity for line in self.lines)
        if fulfilled:
            raise OrderFulfilled(
                f"{fulfilled} unit(s) of order {self.id} are fulfilled, so it can no longer be "
                "cancelled; refund the fulfilled units with restock: true (a return) instead",
                fulfilled_quantity=fulfilled,
            )

    @property
    def default_refund_method(self) -> RefundMethod:
        if self.payment.method is PaymentMethod.OTHER:
            return RefundMethod.OTHER
        return RefundMethod.ORIGINAL

    def _record_refund(
        self,
        request: RefundRequest,
        *,
        kind: RefundKind,
        method: RefundMethod,
        reason: str | None,
        created_by: str,
        now: datetime,
    ) -> Refund:
        breakdown = refund_calculation.calculate_refund(self, request)
        refund = Refund.record(
            order_id=self.id,
            kind=kind,
            method=method,
            breakdown=breakdown,
            reason=reason,
            created_by=created_by,
            now=now,
        )
        self.refunds.append(refund)
        if kind is RefundKind.REFUND:
            self._move_to(self._status_from_ledger(), now)
        else:
            self._touch(now)
        return refund

    def _status_from_ledger(self) -> OrderStatus:
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


@dataclass(frozen=True, slots=True)
class NewLine:
    sku: str
    name: str
    kind: LineKind
    quantity: int
    unit_price: int
    discount: int = 0
    tax: int = 0


def place_order(
    *,
    merchant_id: uuid.UUID,
    external_id: str | None,
    customer: Customer,
    currency: Currency,
    lines: Sequence[NewLine],
    shipping_amount: int,
    shipping_tax: int,
    payment_method: PaymentMethod,
    capture_mode: CaptureMode,
    authorized: int | None,
    captured: int | None,
    now: datetime,
) -> Order:
    """Build an order as a checkout reports it; the payment amounts set its first status.

    ``authorized`` defaults to the order total; ``captured`` to the authorized amount
    when capture is automatic and to zero when it is manual.
    """
    if not lines:
        raise InvalidOrder("an order needs at least one line")
    order_lines = [_build_line(index, new_line, currency) for index, new_line in enumerate(lines)]
    if shipping_amount < 0 or shipping_tax < 0:
        raise InvalidOrder("shipping amount and tax must not be negative")
    if shipping_tax > 0 and shipping_amount == 0:
        # Shipping tax is refunded in proportion to shipping; it needs a base.
        raise InvalidOrder("shipping tax needs a shipping amount")
    shipping = Shipping(Money(shipping_amount, currency), Money(shipping_tax, currency))
    total = sum_money((line.total for line in order_lines), currency)
    total = total + shipping.amount + shipping.tax
    if total.minor > MAX_ORDER_TOTAL_MINOR:
        raise InvalidOrder(f"the order total exceeds {MAX_ORDER_TOTAL_MINOR} minor units")
    authorized_minor = total.minor if authorized is None else authorized
    if captured is None:
        captured = authorized_minor if capture_mode is CaptureMode.AUTOMATIC else 0
    if not 0 <= captured <= authorized_minor <= total.minor:
        raise InvalidOrder(
            "payment amounts must satisfy 0 <= captured <= authorized <= order total",
            total=total.minor,
        )
    if captured > 0:
        status, authorization = OrderStatus.PAID, AuthorizationState.CAPTURED
    elif authorized_minor > 0:
        status, authorization = OrderStatus.AUTHORIZED, AuthorizationState.ACTIVE
    else:
        status, authorization = OrderStatus.PENDING, AuthorizationState.NONE
    return Order(
        id=uuid.uuid4(),
        merchant_id=merchant_id,
        external_id=external_id,
        customer=customer,
        currency=currency,
        lines=order_lines,
        shipping=shipping,
        payment=Payment(
            method=payment_method,
            capture_mode=capture_mode,
            authorized=Money(authorized_minor, currency),
            captured=Money(captured, currency),
            authorization_state=authorization,
        ),
        status=status,
        created_at=now,
        updated_at=now,
    )


def _build_line(index: int, new_line: NewLine, currency: Currency) -> OrderLine:
    where = f"lines[{index}]"
    if new_line.quantity <= 0:
        raise InvalidOrder(f"{where}: quantity must be positive")
    if new_line.unit_price < 0 or new_line.discount < 0 or new_line.tax < 0:
        raise InvalidOrder(f"{where}: unit_price, discount and tax must not be negative")
    if new_line.unit_price * new_line.quantity > MAX_ORDER_TOTAL_MINOR:
        raise InvalidOrder(
            f"{where}: the line subtotal exceeds {MAX_ORDER_TOTAL_MINOR} minor units"
        )
    if new_line.discount > new_line.unit_price * new_line.quantity:
        raise InvalidOrder(f"{where}: discount exceeds the line subtotal")
    if not new_line.sku.strip():
        raise InvalidOrder(f"{where}: sku must not be blank")
    return OrderLine(
        id=uuid.uuid4(),
        sku=new_line.sku,
        name=new_line.name,
        kind=new_line.kind,
        quantity=new_line.quantity,
        unit_price=Money(new_line.unit_price, currency),
        discount=Money(new_line.discount, currency),
        tax=Money(new_line.tax, currency),
    )


__all__ = [
    "AuthorizationState",
    "Cancellation",
    "CaptureMode",
    "Customer",
    "LineKind",
    "NewLine",
    "Order",
    "OrderLine",
    "Payment",
    "PaymentMethod",
    "RefundStatus",
    "Shipping",
    "place_order",
]
