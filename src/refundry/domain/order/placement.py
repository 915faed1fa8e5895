"""Placing an order: building the aggregate from what a checkout reports, validated, its
units taken off the shelf."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from refundry.domain.errors import InvalidOrder
from refundry.domain.gift_card import GiftCardLink
from refundry.domain.money import Currency, Money
from refundry.domain.order import restock
from refundry.domain.order.lines import LineKind, OrderLine, Shipping
from refundry.domain.order.order import Order
from refundry.domain.order.payment import AuthorizationState, CaptureMode, Payment, PaymentMethod
from refundry.domain.order.root import Customer
from refundry.domain.points import PointsRedemption
from refundry.domain.status import OrderStatus

# No real order comes near this (10^13 euros); it keeps every sum inside 64 bits.
MAX_ORDER_TOTAL_MINOR = 10**15
DEFAULT_LINK_VALIDITY = timedelta(days=365)
MAX_LINKS_PER_LINE = 1000


@dataclass(frozen=True, slots=True)
class NewLine:
    sku: str
    name: str
    kind: LineKind
    quantity: int
    unit_price: int
    discount: int = 0
    tax: int = 0
    link_expires_at: datetime | None = None  # gift-card links only


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
    payment_reference: str | None = None,
    authorization_validity: timedelta | None = None,
    points_redeemed: int | None = None,
    points_value: int | None = None,
    store_credit: int | None = None,
) -> Order:
    """Build an order as a checkout reports it; the payment amounts set its first status,
    and its stocked units leave the shelf (a ``StockMoved``).

    ``authorized`` defaults to the order total; ``captured`` to the authorized amount
    when capture is automatic and to zero when it is manual.

    A redeem order spends ``points_redeemed`` points worth ``points_value`` of the total
    (all of it for payment method ``points``). Points are spent at checkout, so such an
    order is settled there: ``authorized`` and ``captured`` are then the money part, and
    the order's captured amount is the money and the points' value together.

    Store credit (``store_credit`` minor units, spent from the customer's balance at
    checkout) is settled there the same way: it pays part of the total beside another
    method, or all of it (method ``store_credit``). Points and store credit do not pay
    one order together.
    """
    if not lines:
        raise InvalidOrder("an order needs at least one line")
    order_lines = [_build_line(index, new_line, currency) for index, new_line in enumerate(lines)]
    links = [
        GiftCardLink.issue(
            line.id, line.unit_price, new_line.link_expires_at or now + DEFAULT_LINK_VALIDITY, now
        )
        for line, new_line in zip(order_lines, lines, strict=True)
        if line.kind is LineKind.GIFT_CARD_LINK
        for _ in range(line.quantity)
    ]
    if shipping_amount < 0 or shipping_tax < 0:
        raise InvalidOrder("shipping amount and tax must not be negative")
    if shipping_tax > 0 and shipping_amount == 0:
        # Shipping tax is refunded in proportion to shipping; it needs a base.
        raise InvalidOrder("shipping tax needs a shipping amount")
    shipping = Shipping(Money(shipping_amount, currency), Money(shipping_tax, currency))
    total = new_order_total(lines, shipping_amount, shipping_tax, currency)
    if total.minor > MAX_ORDER_TOTAL_MINOR:
        raise InvalidOrder(f"the order total exceeds {MAX_ORDER_TOTAL_MINOR} minor units")
    redemption = _redemption(
        payment_method, capture_mode, points_redeemed, points_value, total, authorized, captured
    )
    payment_method, credit, money_waits = _store_credit(
        payment_method, capture_mode, store_credit, redemption, total, authorized, captured
    )
    if money_waits and credit is not None:
        authorized = captured = credit.minor  # settled; the money part is not held yet
    elif redemption is not None or credit is not None:
        authorized = captured = total.minor
    authorized_minor = total.minor if authorized is None else authorized
    if captured is None:
        captured = authorized_minor if capture_mode is CaptureMode.AUTOMATIC else 0
    if not 0 <= captured <= authorized_minor <= total.minor:
        raise InvalidOrder(
            "payment amounts must satisfy 0 <= captured <= authorized <= order total",
            total=total.minor,
        )
    if money_waits:
        status, authorization = OrderStatus.PENDING, AuthorizationState.NONE
    elif captured > 0:
        status, authorization = OrderStatus.PAID, AuthorizationState.CAPTURED
    elif authorized_minor > 0:
        status, authorization = OrderStatus.AUTHORIZED, AuthorizationState.ACTIVE
    else:
        status, authorization = OrderStatus.PENDING, AuthorizationState.NONE
    order = Order(
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
            reference=payment_reference,
            authorization_expires_at=(
                now + authorization_validity
                if authorization is AuthorizationState.ACTIVE and authorization_validity
                else None
            ),
            redemption=redemption,
            store_credit=credit,
        ),
        status=status,
        created_at=now,
        updated_at=now,
        links=links,
    )
    restock.record_stock_moved(order, restock.placed(order))
    return order


def new_order_total(
    lines: Sequence[NewLine], shipping_amount: int, shipping_tax: int, currency: Currency
) -> Money:
    """What an order of ``lines`` totals: each line's subtotal less its discount plus its
    tax, and the shipping with its tax (an exchange prices its replacement with it)."""
    minor = sum(line.unit_price * line.quantity - line.discount + line.tax for line in lines)
    return Money(minor + shipping_amount + shipping_tax, currency)


def _redemption(
    method: PaymentMethod,
    capture_mode: CaptureMode,
    points: int | None,
    value: int | None,
    total: Money,
    authorized: int | None,
    captured: int | None,
) -> PointsRedemption | None:
    """The points a redeem order's checkout spent, checked against the order total."""
    if points is None:
        if method is PaymentMethod.POINTS or value is not None:
            raise InvalidOrder("an order paid with points needs payment.points.redeemed")
        return None
    if method is PaymentMethod.POINTS:
        value = total.minor if value is None else value
        if value != total.minor:
            raise InvalidOrder(
                "payment method points pays the whole order; to pay part of it with points, "
                "pay the rest with another method and send payment.points",
                total=total.minor,
            )
    elif value is None:
        raise InvalidOrder("payment.points.value (what the points paid) is required")
    elif not 0 < value < total.minor:
        raise InvalidOrder(
            "payment.points.value must be positive and less than the order total",
            total=total.minor,
        )
    if method is PaymentMethod.FLOAT:
        raise InvalidOrder("an order paid from the merchant's float cannot also pay with points")
    money = total.minor - value
    if capture_mode is CaptureMode.MANUAL or (authorized, captured) not in (
        (None, None),
        (money, money),
        (None, money),
        (money, None),
    ):
        raise InvalidOrder(
            "points are spent at checkout, so an order paid with points is settled there: "
            "capture must be automatic and cover the money part "
            f"({money} minor units)",
            money_part=money,
        )
    return PointsRedemption(points, Money(value, total.currency))


def _store_credit(
    method: PaymentMethod,
    capture_mode: CaptureMode,
    amount: int | None,
    redemption: PointsRedemption | None,
    total: Money,
    authorized: int | None,
    captured: int | None,
) -> tuple[PaymentMethod, Money | None, bool]:
    """The payment method and the store credit a checkout spent, checked against the
    total, and whether the money part waits for payment. Store credit covering the whole
    total makes the method ``store_credit``."""
    if amount is None:
        if method is not PaymentMethod.STORE_CREDIT:
            return method, None, False
        amount = total.minor  # method store_credit pays the whole order
    if amount <= 0:
        raise InvalidOrder("payment.store_credit.amount must be positive")
    if amount > total.minor:
        raise InvalidOrder(
            "payment.store_credit.amount is more than the order total", total=total.minor
        )
    if redemption is not None or method is PaymentMethod.POINTS:
        raise InvalidOrder("an order cannot pay with both points and store credit")
    if method is PaymentMethod.FLOAT:
        raise InvalidOrder(
            "an order paid from the merchant's float cannot also pay with store credit"
        )
    if amount == total.minor:
        if method not in (PaymentMethod.CARD, PaymentMethod.STORE_CREDIT):
            raise InvalidOrder(
                "store credit pays the whole order, so nothing is left for method "
                f"{method.value}; send method store_credit",
                total=total.minor,
            )
        method = PaymentMethod.STORE_CREDIT
    elif method is PaymentMethod.STORE_CREDIT:
        raise InvalidOrder(
            "payment method store_credit pays the whole order; to pay part of it with store "
            "credit, pay the rest with another method and send payment.store_credit",
            total=total.minor,
        )
    money = total.minor - amount
    if money > 0 and (authorized, captured) in ((0, None), (0, 0)):
        # The money part waits for the customer (an exchange's replacement that costs more
        # than the return): the order is pending with the store credit settled.
        return method, Money(amount, total.currency), True
    if capture_mode is CaptureMode.MANUAL or (authorized, captured) not in (
        (None, None),
        (money, money),
        (None, money),
        (money, None),
    ):
        raise InvalidOrder(
            "store credit is spent at checkout, so an order paid with it is settled there: "
            f"capture must be automatic and cover the money part ({money} minor units), or "
            "nothing be authorized yet (authorized 0: the order waits for the money part)",
            money_part=money,
        )
    return method, Money(amount, total.currency), False


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
    if new_line.kind is LineKind.GIFT_CARD_LINK and new_line.quantity > MAX_LINKS_PER_LINE:
        raise InvalidOrder(f"{where}: at most {MAX_LINKS_PER_LINE} links per line")
    if new_line.link_expires_at is not None and new_line.kind is not LineKind.GIFT_CARD_LINK:
        raise InvalidOrder(f"{where}: only gift_card_link lines have a link expiry")
    if new_line.link_expires_at is not None and not in_utc_range(new_line.link_expires_at):
        raise InvalidOrder(f"{where}: link_expires_at must fall in the years 1 to 9999 in UTC")
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


def in_utc_range(moment: datetime) -> bool:
    """Whether an aware time is one UTC can hold: 0001-01-01T00:00+05:00 is in the year 0
    there, which neither Python nor the database can read back."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True
