"""The order page's summary card, read as Shopify's admin shows an order's money (issue 21).

Two sums, each row a figure of the order itself:

- what was sold: Subtotal - Discounts + Shipping + Tax = Total (prices are tax-exclusive,
  so the tax is added, the shipping's with the lines');
- what the shop keeps: Paid - Refunded - Refund processing - Credit due = Net payment, which
  is the captured money less every refund that counts against the cap.

A cancel of captured units is a cancellation *refund*: its money is among the refunds, and
the card says how much of them the cancelled items were. A failed refund gave nothing back
and is left out (the refunds table shows it)."""

from __future__ import annotations

from dataclasses import dataclass

from refundry.domain.money import Money
from refundry.domain.order import Order, PaymentMethod
from refundry.domain.refund import RefundKind, sum_money
from refundry.domain.status import OrderStatus
from refundry.entrypoints.dashboard.order_reading import awaits_provider, is_credit_due

MONEY_PART = {
    PaymentMethod.CARD: "Card",
    PaymentMethod.KLARNA: "Klarna",
    PaymentMethod.FLOAT: "Float",
    PaymentMethod.OTHER: "Other means",
}


@dataclass(frozen=True, slots=True)
class PaidPart:
    label: str
    amount: Money
    points: int | None = None  # the points a redeem order spent for ``amount``


@dataclass(frozen=True, slots=True)
class OrderSummary:
    subtotal: Money
    discount: Money
    shipping: Money
    tax: Money
    total: Money
    paid: Money  # captured: money, store credit and points
    paid_by: tuple[PaidPart, ...]  # how, when store credit or points paid part; else empty
    still_to_pay: Money  # of the total, what an order not captured yet still waits for
    refunded: Money  # settled: completed, or returned by other means
    processing: Money  # sent to the provider, not settled yet
    credit_due: Money  # a float order's credit, given at the invoice close
    for_cancelled_items: Money  # of the three above, the money of cancelled items
    as_store_credit: Money  # of the three above, given back as store credit
    as_points: Money  # of the three above, given back in points
    net: Money
    # cancelled units of an order nothing was captured for: never paid, nothing to refund
    never_paid_units: int
    # a cancelled order's money still held: a refund of it failed (its units count as
    # cancelled again), so it is owed and the agent must refund it
    still_owed: Money


def order_summary(order: Order) -> OrderSummary:
    counted = [refund for refund in order.refunds if refund.counts_against_cap]
    zero = Money.zero(order.currency)
    payment = order.payment
    settled = [refund for refund in counted if refund.is_settled]
    processing = [refund for refund in counted if awaits_provider(refund)]
    due = [refund for refund in counted if is_credit_due(refund)]
    unpaid = order.live_total - payment.captured  # a capture takes no cancelled item
    cancelled_units = sum(line.cancelled_quantity for line in order.lines)
    waits = order.status in (OrderStatus.PENDING, OrderStatus.AUTHORIZED)
    return OrderSummary(
        subtotal=order.subtotal,
        discount=order.discount,
        shipping=order.shipping.amount,
        tax=order.tax,
        total=order.total,
        paid=payment.captured,
        paid_by=_paid_by(order),
        still_to_pay=unpaid if waits and unpaid.minor > 0 else zero,
        refunded=sum_money((refund.amount for refund in settled), order.currency),
        processing=sum_money((refund.amount for refund in processing), order.currency),
        credit_due=sum_money((refund.amount for refund in due), order.currency),
        for_cancelled_items=sum_money(
            (refund.amount for refund in counted if refund.kind is RefundKind.CANCELLATION),
            order.currency,
        ),
        as_store_credit=order.store_credit_refunded,
        as_points=order.points_value_refunded,
        net=payment.captured - order.refunded,
        never_paid_units=cancelled_units if not payment.captured.minor else 0,
        still_owed=order.refundable if order.status is OrderStatus.CANCELLED else zero,
    )


def _paid_by(order: Order) -> tuple[PaidPart, ...]:
    payment = order.payment
    if not (payment.store_credit_paid.minor or payment.points_value.minor):
        return ()
    redemption = payment.redemption
    parts = (
        PaidPart(MONEY_PART.get(payment.method, "Money"), payment.money_captured),
        PaidPart("Store credit", payment.store_credit_paid),
        PaidPart("Points", payment.points_value, redemption.points if redemption else None),
    )
    return tuple(part for part in parts if part.amount.minor)
