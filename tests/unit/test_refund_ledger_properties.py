"""For any order and any sequence of refunds, cancels, fulfilments and provider failures:
the cap holds, quantities hold, the status is the ledger's, and the cents add up."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from refundry.domain.errors import RefundryError
from refundry.domain.money import Currency
from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    LineRefundRequest,
    NewLine,
    Order,
    PaymentMethod,
    RefundRequest,
    place_order,
)
from refundry.domain.refund import RefundMethod
from refundry.domain.status import OrderStatus

NOW = datetime(2026, 11, 23, tzinfo=UTC)


@st.composite
def new_lines(draw: st.DrawFn) -> NewLine:
    quantity = draw(st.integers(1, 6))
    unit_price = draw(st.integers(0, 50_000))
    discount = draw(st.integers(0, unit_price * quantity))
    tax = draw(st.integers(0, 20_000))
    kind = draw(st.sampled_from(list(LineKind)))
    return NewLine("SKU", "Thing", kind, quantity, unit_price, discount, tax)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    lines = draw(st.lists(new_lines(), min_size=1, max_size=4))
    shipping = draw(st.integers(0, 2_000))
    shipping_tax = draw(st.integers(0, 500)) if shipping else 0
    total = sum(line.unit_price * line.quantity - line.discount + line.tax for line in lines)
    total += shipping + shipping_tax
    captured = draw(st.one_of(st.just(total), st.integers(0, total)))
    return place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("p@example.com"),
        currency=Currency.of(draw(st.sampled_from(["EUR", "JPY", "KWD"]))),
        lines=lines,
        shipping_amount=shipping,
        shipping_tax=shipping_tax,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=total,
        captured=captured,
        now=NOW,
    )


operations = st.lists(
    st.one_of(
        st.tuples(st.just("lines"), st.integers(0, 3), st.integers(1, 4), st.booleans()),
        st.tuples(st.just("shipping"), st.integers(0, 2_500), st.just(0), st.just(False)),
        st.tuples(st.just("goodwill"), st.integers(0, 30_000), st.just(0), st.just(False)),
        st.tuples(st.just("full"), st.just(0), st.just(0), st.booleans()),
        st.tuples(st.just("cancel"), st.just(0), st.just(0), st.just(False)),
        st.tuples(st.just("fulfil"), st.integers(0, 3), st.integers(1, 3), st.just(False)),
        st.tuples(st.just("fail"), st.integers(0, 10), st.just(0), st.just(False)),
        st.tuples(st.just("settle"), st.integers(0, 10), st.just(0), st.just(False)),
    ),
    max_size=12,
)


@dataclass(frozen=True)
class Snapshot:
    version: int
    refunded: int
    refunds: int
    quantities: tuple[tuple[int, int], ...]
    status: OrderStatus


def snapshot(order: Order) -> Snapshot:
    return Snapshot(
        order.version,
        order.refunded.minor,
        len(order.refunds),
        tuple((line.fulfilled_quantity, line.cancelled_quantity) for line in order.lines),
        order.status,
    )


def apply(order: Order, operation: tuple[str, int, int, bool]) -> None:
    kind, first, second, flag = operation
    line = order.lines[first % len(order.lines)]
    if kind == "lines":
        request = RefundRequest(lines=(LineRefundRequest(line.id, second, restock=flag),))
        order.refund(request, method=None, reason="prop", created_by="t", now=NOW)
    elif kind == "shipping":
        order.refund(
            RefundRequest(shipping=first), method=None, reason=None, created_by="t", now=NOW
        )
    elif kind == "goodwill":
        order.refund(RefundRequest(amount=first), method=None, reason=None, created_by="t", now=NOW)
    elif kind == "full":
        order.refund(
            RefundRequest.full(restock=flag),
            method=RefundMethod.OTHER,
            reason=None,
            created_by="t",
            now=NOW,
        )
    elif kind == "cancel":
        order.cancel(reason=None, status_label=None, created_by="t", now=NOW)
    elif kind == "fulfil":
        order.fulfil({line.id: second}, NOW)
    elif kind == "fail" and order.refunds:
        # The provider declines a refund still waiting for it: it stops counting.
        refund = order.refunds[first % len(order.refunds)]
        if refund.is_pending:
            order.fail_refund(refund.id, "declined", NOW)
    elif kind == "settle" and order.refunds:
        refund = order.refunds[first % len(order.refunds)]
        if refund.is_pending:
            order.complete_refund(refund.id, NOW)


def check_invariants(order: Order) -> None:
    captured = order.payment.captured.minor
    refunded = order.refunded.minor
    assert 0 <= refunded <= captured
    assert order.refundable.minor == captured - refunded
    for line in order.lines:
        totals = order.line_refunds(line.id)
        assert order.refundable_quantity(line, NOW) >= 0
        assert order.open_quantity(line) >= 0
        assert totals.quantity + line.cancelled_quantity <= line.quantity
        if totals.quantity == line.quantity:
            # every unit refunded: the line's discount and tax came back to the cent
            assert totals.discount == line.discount
            assert totals.tax == line.tax
    shipping, shipping_tax = order.shipping_refunded()
    assert shipping <= order.shipping.amount
    if shipping == order.shipping.amount:
        assert shipping_tax == order.shipping.tax
    if order.status not in (OrderStatus.CANCELLED, OrderStatus.AUTO_REFUNDED) and captured:
        if refunded == 0:
            assert order.status is OrderStatus.PAID
        elif refunded == captured:
            assert order.status is OrderStatus.FULLY_REFUNDED
        else:
            assert order.status is OrderStatus.PARTIALLY_REFUNDED


@settings(max_examples=300, deadline=None)
@given(order=orders(), sequence=operations)
def test_any_sequence_keeps_the_ledger_consistent(
    order: Order, sequence: list[tuple[str, int, int, bool]]
) -> None:
    check_invariants(order)
    for operation in sequence:
        before = snapshot(order)
        try:
            apply(order, operation)
        except RefundryError:
            # a refused operation changes nothing at all
            assert snapshot(order) == before
        check_invariants(order)


@settings(max_examples=200, deadline=None)
@given(order=orders(), sequence=operations)
def test_a_final_full_refund_brings_the_total_back_to_the_capture(
    order: Order, sequence: list[tuple[str, int, int, bool]]
) -> None:
    for operation in sequence:
        if operation[0] not in ("cancel", "fail"):
            with contextlib.suppress(RefundryError):
                apply(order, operation)
    if order.status in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED):
        order.refund(RefundRequest.full(), method=None, reason=None, created_by="t", now=NOW)
        assert order.refunded == order.payment.captured
        assert order.status is OrderStatus.FULLY_REFUNDED
        if order.payment.captured == order.total:
            for line in order.lines:
                assert order.refundable_quantity(line, NOW) == 0
