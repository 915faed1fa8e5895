"""Where an order's refund goes, in words (entrypoints/dashboard/refund_destinations.py):
the "Refund to" choices an order's payment gives, and the same words for a refund made."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from refundry.domain.money import Currency
from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    NewLine,
    Order,
    PaymentMethod,
    place_order,
)
from refundry.domain.refund import RefundMethod
from refundry.entrypoints.dashboard.refund_destinations import (
    DIFFERENT_MEANS_CHOICE,
    STORE_CREDIT_CHOICE,
    chosen,
    refund_choices,
    refund_to,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ORIGINAL, STORE_CREDIT, OTHER = RefundMethod.ORIGINAL, RefundMethod.STORE_CREDIT, RefundMethod.OTHER


def paid_by(method: PaymentMethod) -> Order:
    """A EUR 30.00 order of three mugs, paid in full ``method``'s way."""
    return place_order(
        merchant_id=uuid.uuid4(),
        external_id="S-1",
        customer=Customer("ana@example.com"),
        currency=Currency.of("EUR"),
        lines=[NewLine("MUG", "Mug", LineKind.PHYSICAL, 3, 1000)],
        shipping_amount=0,
        shipping_tax=0,
        payment_method=method,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=NOW,
        store_credit=3000 if method is PaymentMethod.STORE_CREDIT else None,
        points_redeemed=300 if method is PaymentMethod.POINTS else None,
        points_value=3000 if method is PaymentMethod.POINTS else None,
    )


def choices_of(order: Order) -> list[tuple[RefundMethod, str]]:
    return [(choice.method, choice.label) for choice in refund_choices(order)]


@pytest.mark.parametrize(
    ("method", "original"),
    [
        (PaymentMethod.CARD, "the card the customer paid with"),
        (PaymentMethod.KLARNA, "the customer's Klarna account"),
        (PaymentMethod.POINTS, "the customer's points balance, as points"),
    ],
)
def test_a_customers_payment_is_named_and_store_credit_and_different_means_follow(
    method: PaymentMethod, original: str
) -> None:
    order = paid_by(method)
    assert choices_of(order) == [
        (ORIGINAL, original),
        (STORE_CREDIT, STORE_CREDIT_CHOICE),
        (OTHER, DIFFERENT_MEANS_CHOICE),
    ]
    assert DIFFERENT_MEANS_CHOICE == (
        "different means (recorded only: Not requested by administrator)"
    )  # seed 002's words, and the status such a refund then reads
    # and a refund made reads the same way
    assert refund_to(order, ORIGINAL) == original
    assert refund_to(order, STORE_CREDIT) == "the customer's store credit"
    assert refund_to(order, OTHER) == "different means (recorded only)"


def test_an_order_paid_with_store_credit_goes_back_to_it_and_is_not_offered_twice() -> None:
    order = paid_by(PaymentMethod.STORE_CREDIT)
    assert choices_of(order) == [
        (ORIGINAL, "the customer's store credit"),
        (OTHER, DIFFERENT_MEANS_CHOICE),
    ]


def test_a_float_orders_money_is_the_merchants_and_never_store_credit() -> None:
    order = paid_by(PaymentMethod.FLOAT)
    assert choices_of(order) == [
        (ORIGINAL, "your float, at the end of the invoice cycle"),
        (OTHER, DIFFERENT_MEANS_CHOICE),
    ]
    assert refund_to(order, RefundMethod.FLOAT) == "your float, at the end of the invoice cycle"
    assert chosen(order, STORE_CREDIT) is ORIGINAL  # a store credit asked in the URL: not offered


def test_an_order_paid_by_other_means_is_refunded_by_different_means_once() -> None:
    order = paid_by(PaymentMethod.OTHER)
    assert choices_of(order) == [
        (ORIGINAL, DIFFERENT_MEANS_CHOICE),
        (STORE_CREDIT, STORE_CREDIT_CHOICE),
    ]
    assert refund_to(order, ORIGINAL) == "different means (recorded only)"
    assert chosen(order, OTHER) is ORIGINAL
