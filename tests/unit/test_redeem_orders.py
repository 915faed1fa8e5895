"""Redeem orders: points pay the whole order or part of it; refunds give back points and
money in exact proportion, and reconciliation may reverse the order (auto_refunded)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refundry.domain.errors import (
    InvalidOrder,
    OrderAlreadyRefunded,
    OrderNotAutoRefundable,
    OrderNotRefundable,
)
from refundry.domain.events import OrderAutoRefunded, PointsRedeemed, PointsRestored
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
from refundry.domain.refund import RefundKind, RefundStatus
from refundry.domain.status import OrderStatus

EUR = Currency.of("EUR")
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def redeem_order(
    unit_price: int = 1000,
    quantity: int = 3,
    *,
    method: PaymentMethod = PaymentMethod.CARD,
    points: int = 1500,
    value: int | None = 1200,
    capture_mode: CaptureMode = CaptureMode.AUTOMATIC,
    captured: int | None = None,
) -> Order:
    order = place_order(
        merchant_id=uuid.uuid4(),
        external_id="R-1",
        customer=Customer("ana@example.com"),
        currency=EUR,
        lines=[NewLine("SKU", "Thing", LineKind.PHYSICAL, quantity, unit_price)],
        shipping_amount=0,
        shipping_tax=0,
        payment_method=method,
        capture_mode=capture_mode,
        authorized=None,
        captured=captured,
        now=NOW,
        points_redeemed=points,
        points_value=value,
    )
    order.redeem_points(NOW)
    return order


def test_a_mixed_order_is_settled_at_checkout_with_points_and_money() -> None:
    order = redeem_order()
    assert order.status is OrderStatus.PAID
    assert order.payment.captured == Money(3000, EUR)
    assert order.payment.money_captured == Money(1800, EUR)
    assert order.points.redeemed == 1500
    assert [e for e in order.events if isinstance(e, PointsRedeemed)] == [
        PointsRedeemed(order.id, 1500)
    ]


@pytest.mark.parametrize(
    ("method", "value", "capture_mode", "captured"),
    [
        (PaymentMethod.POINTS, 1000, CaptureMode.AUTOMATIC, None),  # points pay it all
        (PaymentMethod.CARD, None, CaptureMode.AUTOMATIC, None),  # how much did they pay?
        (PaymentMethod.CARD, 3000, CaptureMode.AUTOMATIC, None),  # that is method points
        (PaymentMethod.CARD, 1200, CaptureMode.MANUAL, None),  # points are spent at checkout
        (PaymentMethod.CARD, 1200, CaptureMode.AUTOMATIC, 100),  # money part is 1800
    ],
)
def test_a_redemption_that_does_not_add_up_is_refused(
    method: PaymentMethod, value: int | None, capture_mode: CaptureMode, captured: int | None
) -> None:
    with pytest.raises(InvalidOrder):
        redeem_order(method=method, value=value, capture_mode=capture_mode, captured=captured)


def test_a_points_only_refund_completes_at_once_and_sends_nothing() -> None:
    order = redeem_order(method=PaymentMethod.POINTS, value=None)
    refund = order.refund(
        RefundRequest(amount=1000),
        method=None,
        reason="late",
        created_by="t",
        now=NOW,
    )
    assert refund.status is RefundStatus.COMPLETED
    assert refund.money_amount == Money(0, EUR)
    assert refund.points_restored == 500
    assert not order.payment.money_captured.minor
    assert order.status is OrderStatus.PARTIALLY_REFUNDED


@given(
    unit_price=st.integers(1, 5000),
    quantity=st.integers(1, 6),
    points=st.integers(1, 100_000),
    value_share=st.integers(1, 99),
    cuts=st.lists(st.integers(1, 10_000), min_size=1, max_size=6),
    failing=st.sets(st.integers(0, 5)),
)
def test_refunds_give_back_exactly_the_points_and_money_paid(
    unit_price: int,
    quantity: int,
    points: int,
    value_share: int,
    cuts: list[int],
    failing: set[int],
) -> None:
    """Any partial refunds, some failing, then a full refund: the points restored are
    exactly those redeemed, the money refunded exactly the money paid, and no refund
    ever gives back more money than was paid in money."""
    total = unit_price * quantity
    value = max(1, total * value_share // 100)
    if value >= total:
        return
    order = redeem_order(unit_price, quantity, points=points, value=value)
    for index, cut in enumerate(cuts):
        amount = min(cut, order.refundable.minor)
        if amount == 0:
            break
        refund = order.refund(
            RefundRequest(amount=amount),
            method=None,
            reason=None,
            created_by="t",
            now=NOW,
        )
        assert 0 <= order.points.restored <= points
        if index in failing and refund.is_pending:
            order.fail_refund(refund.id, "declined", NOW)
    if order.refundable.minor:
        order.refund(RefundRequest.full(), method=None, reason=None, created_by="t", now=NOW)
    counting = [refund for refund in order.refunds if refund.counts_against_cap]
    assert order.points.restored == points
    assert sum(refund.points_restored for refund in order.refunds) == points
    assert sum(refund.money_amount.minor for refund in counting) == total - value
    assert all(refund.money_amount.minor >= 0 for refund in order.refunds)
    restored_events = [e.points for e in order.events if isinstance(e, PointsRestored)]
    assert sum(restored_events) == points


def test_auto_refund_reverses_everything_and_ends_the_order() -> None:
    order = redeem_order()
    order.refund(RefundRequest(amount=600), method=None, reason=None, created_by="t", now=NOW)
    refund = order.auto_refund(reason=None, created_by="system:reconciliation", now=NOW)
    assert refund.kind is RefundKind.AUTO_REFUND
    assert order.status is OrderStatus.AUTO_REFUNDED
    assert order.refundable.minor == 0
    assert order.points.restored == 1500
    assert isinstance(order.events[-1], OrderAutoRefunded)
    assert order.events[-1].refund_id == refund.id


def test_an_auto_refunded_order_refuses_cancel_and_refund_with_a_clear_reason() -> None:
    order = redeem_order()
    order.auto_refund(reason=None, created_by="system:reconciliation", now=NOW)
    with pytest.raises(OrderAlreadyRefunded, match="auto_refunded"):
        order.cancel(reason=None, status_label=None, created_by="t", now=NOW)
    with pytest.raises(OrderNotRefundable, match="auto_refunded"):
        order.refund(RefundRequest.full(), method=None, reason=None, created_by="t", now=NOW)
    with pytest.raises(OrderNotAutoRefundable):
        order.auto_refund(reason=None, created_by="system:reconciliation", now=NOW)


def test_only_a_settled_redeem_order_is_reversed_automatically() -> None:
    order = redeem_order()
    order.refund(RefundRequest.full(), method=None, reason=None, created_by="t", now=NOW)
    with pytest.raises(OrderNotAutoRefundable):
        order.auto_refund(reason=None, created_by="s", now=NOW + timedelta(days=1))
    earning = place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("bo@example.com"),
        currency=EUR,
        lines=[NewLine("SKU", "Thing", LineKind.PHYSICAL, 1, 100)],
        shipping_amount=0,
        shipping_tax=0,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=NOW,
    )
    with pytest.raises(OrderNotAutoRefundable):
        earning.auto_refund(reason=None, created_by="s", now=NOW)


def test_earned_points_follow_the_money_refunded_not_the_points_value() -> None:
    # given EUR 100, EUR 80 of it paid with points: the EUR 20 paid by card earned 20 points
    order = redeem_order(10000, 1, points=8000, value=8000)
    order.award_points(20, NOW)
    # when the card's EUR 20 is refunded in the provider's dashboard (money only)
    order.record_external_refund(Money(2000, EUR), "re_dash", None, NOW)
    # then every point that money earned is taken back, and no redeemed point comes back
    assert (order.points.reversed, order.points.restored) == (20, 0)


def test_an_order_paid_from_the_float_cannot_also_pay_with_points() -> None:
    with pytest.raises(InvalidOrder, match="float"):
        redeem_order(method=PaymentMethod.FLOAT)


def test_auto_refund_gives_back_the_money_of_units_no_longer_refundable_by_line() -> None:
    # given a gift-card link paid with points, opened by the consumer
    order = place_order(
        merchant_id=uuid.uuid4(),
        external_id="G-1",
        customer=Customer("ana@example.com"),
        currency=EUR,
        lines=[NewLine("GIFT", "Gift", LineKind.GIFT_CARD_LINK, 1, 2500)],
        shipping_amount=0,
        shipping_tax=0,
        payment_method=PaymentMethod.POINTS,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=NOW,
        points_redeemed=250,
    )
    order.redeem_points(NOW)
    order.open_link(order.links[0].id, NOW)
    # when reconciliation reverses it
    refund = order.auto_refund(reason=None, created_by="system:reconciliation", now=NOW)
    # then all of it comes back, as an amount: the points, every one
    assert refund.amount == Money(2500, EUR)
    assert order.points.restored == 250
    assert order.status is OrderStatus.AUTO_REFUNDED
