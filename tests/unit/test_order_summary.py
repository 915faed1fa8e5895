"""The order page's summary card (entrypoints/dashboard/order_summary.py): how it was
paid when store credit or points paid part, and refunds by where they stand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from refundry.domain.money import Currency, Money
from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    NewLine,
    Order,
    PaymentMethod,
    RefundRequest,
    place_order,
)
from refundry.entrypoints.dashboard.order_summary import PaidPart, order_summary

EUR = Currency.of("EUR")
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def eur(minor: int) -> Money:
    return Money(minor, EUR)


def an_order(
    *,
    store_credit: int | None = None,
    points_redeemed: int | None = None,
    points_value: int | None = None,
) -> Order:
    """Three mugs at EUR 10.00 less EUR 3.00 with EUR 5.40 tax, EUR 5.00 shipping with
    EUR 1.00 tax: EUR 38.40, paid by card (and store credit or points, when given)."""
    return place_order(
        merchant_id=uuid.uuid4(),
        external_id="S-1",
        customer=Customer("ana@example.com", "cust-ana"),
        currency=EUR,
        lines=[NewLine("MUG", "Mug", LineKind.PHYSICAL, 3, 1000, discount=300, tax=540)],
        shipping_amount=500,
        shipping_tax=100,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=NOW,
        store_credit=store_credit,
        points_redeemed=points_redeemed,
        points_value=points_value,
    )


def test_the_sold_rows_are_the_orders_figures_and_add_up_to_its_total() -> None:
    summary = order_summary(an_order())
    assert (summary.subtotal, summary.discount, summary.shipping, summary.tax) == (
        eur(3000),
        eur(300),
        eur(500),
        eur(640),  # the lines' tax and the shipping's
    )
    assert summary.subtotal - summary.discount + summary.shipping + summary.tax == summary.total
    assert summary.total == eur(3840)


def test_a_card_order_says_nothing_of_how_it_was_paid() -> None:
    summary = order_summary(an_order())
    assert (summary.paid, summary.paid_by) == (eur(3840), ())


def test_store_credit_paying_part_shows_beside_the_card() -> None:
    summary = order_summary(an_order(store_credit=1000))
    assert summary.paid == eur(3840)
    assert summary.paid_by == (PaidPart("Card", eur(2840)), PaidPart("Store credit", eur(1000)))


def test_points_paying_part_show_with_how_many_were_spent() -> None:
    order = an_order(points_redeemed=1500, points_value=1200)
    assert order_summary(order).paid_by == (
        PaidPart("Card", eur(2640)),
        PaidPart("Points", eur(1200), 1500),
    )


def test_a_refund_waiting_for_the_provider_is_processing_not_refunded() -> None:
    order = an_order()
    order.refund(RefundRequest(amount=1000), method=None, reason=None, created_by="t", now=NOW)
    summary = order_summary(order)
    assert (summary.refunded, summary.processing, summary.credit_due) == (
        eur(0),
        eur(1000),
        eur(0),
    )
    assert summary.net == eur(2840)
    assert summary.paid - summary.refunded - summary.processing == summary.net
    # once the provider completes it, it is refunded
    [refund] = order.refunds
    order.complete_refund(refund.id, NOW)
    summary = order_summary(order)
    assert (summary.refunded, summary.processing, summary.net) == (eur(1000), eur(0), eur(2840))


def test_a_canceled_order_whose_refund_failed_says_the_money_is_still_owed() -> None:
    order = an_order()
    cancellation = order.cancel(reason=None, status_label=None, created_by="t", now=NOW)
    assert cancellation.refund is not None
    order.fail_refund(cancellation.refund.id, "declined", NOW)
    summary = order_summary(order)
    # the units count as cancelled again, but the money was captured: not "never paid"
    assert summary.never_paid_units == 0
    assert summary.still_owed == eur(3840) == order.refundable


def test_items_canceled_before_capture_were_never_paid_and_still_to_pay_leaves_them_out() -> None:
    order = place_order(
        merchant_id=uuid.uuid4(),
        external_id="S-2",
        customer=Customer("ana@example.com", "cust-ana"),
        currency=EUR,
        lines=[
            NewLine("MUG", "Mug", LineKind.PHYSICAL, 1, 1000, tax=200),
            NewLine("POT", "Pot", LineKind.PHYSICAL, 1, 4000, tax=800),
        ],
        shipping_amount=500,
        shipping_tax=100,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.MANUAL,
        authorized=None,
        captured=None,
        now=NOW,
    )
    pot = order.lines[1]
    order.cancel_item(pot.id, reason=None, created_by="t", now=NOW)
    summary = order_summary(order)
    assert summary.never_paid_units == 1
    assert summary.still_owed == eur(0)
    # only the mug, its tax and the shipping can ever be captured
    assert summary.still_to_pay == order.live_total == eur(1800)
