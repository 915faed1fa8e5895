"""The ledger checks ``refundry verify`` runs: silent on every order the domain can make,
and naming the figure that drifted when a stored one is off."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refundry.domain.ledger_check import (
    FloatCredit,
    FloatLedger,
    OrderPointsLedger,
    ReportTotals,
    StoredOrderFigures,
    StoredRefundFigures,
    float_drifts,
    order_drifts,
    report_drifts,
)
from refundry.domain.merchant_float import Invoice
from refundry.domain.money import Currency, Money
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
from refundry.domain.order.refunds import record_refund
from refundry.domain.refund import RefundKind, RefundMethod, RefundStatus
from refundry.domain.reporting import SummaryRow, reason_key
from refundry.domain.status import OrderStatus
from refundry.domain.stop_check import stop_refund_drifts
from refundry.entrypoints.seed_data import generate_order
from tests.unit.test_redeem_orders import NOW, redeem_order

EUR = Currency.of("EUR")


def stored_figures(order: Order) -> StoredOrderFigures:
    """What the database holds for ``order`` when nothing drifted."""
    settled = (RefundStatus.COMPLETED, RefundStatus.NOT_REQUESTED)
    sold, sold_discount, sold_tax = order.sales
    return StoredOrderFigures(
        total=order.total.minor,
        subtotal=sold.minor,
        discount=sold_discount.minor,
        tax=sold_tax.minor,
        fulfilment_status=order.fulfilment_status.value,
        refunds={
            refund.id: StoredRefundFigures(
                amount=refund.amount.minor,
                tax=refund.breakdown.tax.minor,
                subtotal=sum(line.subtotal.minor for line in refund.breakdown.lines),
                discount=sum(line.discount.minor for line in refund.breakdown.lines),
                settled=refund.status in settled,
                reason_key=reason_key(refund.reason),
            )
            for refund in order.refunds
        },
    )


def points_ledger(order: Order) -> OrderPointsLedger:
    return OrderPointsLedger(
        earned=order.points.earned,
        redeemed=order.points.redeemed,
        taken=order.points.reversed,
        restored=order.points.restored,
    )


def waiting(order: Order) -> frozenset[uuid.UUID]:
    return frozenset(refund.id for refund in order.refunds if refund.is_pending)


def checks(order: Order, **changes: object) -> list[str]:
    stored = dataclasses.replace(stored_figures(order), **changes)  # type: ignore[arg-type]
    return [
        drift.check for drift in order_drifts(order, stored, points_ledger(order), waiting(order))
    ]


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_no_drift_on_any_generated_order(seed: int) -> None:
    rng = random.Random(seed)
    order = generate_order(uuid.uuid4(), rng, NOW, 1, failure_rate=0.3)
    assert order_drifts(order, stored_figures(order), points_ledger(order), waiting(order)) == []


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=4),
    st.sets(st.integers(min_value=0, max_value=3)),
)
def test_no_drift_on_redeem_orders_refunded_in_parts_some_failing(
    amounts: list[int], failing: set[int]
) -> None:
    order = redeem_order()
    for index, amount in enumerate(amounts):
        if order.refundable.minor == 0:
            break
        refund = order.refund(
            RefundRequest(amount=min(amount, order.refundable.minor)),
            method=None,
            reason="Damaged",
            created_by="test",
            now=NOW + timedelta(minutes=index),
        )
        if refund.status is RefundStatus.STARTED:
            if index in failing:
                order.fail_refund(refund.id, "declined", NOW + timedelta(minutes=index, seconds=1))
            else:
                order.complete_refund(refund.id, NOW + timedelta(minutes=index, seconds=2))
    assert order_drifts(order, stored_figures(order), points_ledger(order), waiting(order)) == []


def refunded_order() -> Order:
    order = redeem_order()
    order.refund(RefundRequest(amount=1000), method=None, reason="Late", created_by="test", now=NOW)
    return order


def test_a_stored_figure_that_is_off_is_named() -> None:
    order = refunded_order()
    refund = order.refunds[0]
    stored = stored_figures(order)
    off_by_one = dataclasses.replace(stored.refunds[refund.id], amount=refund.amount.minor + 1)
    assert checks(order, refunds={refund.id: off_by_one}) == ["refund_amount"]
    assert checks(order, subtotal=stored.subtotal - 1) == ["order_subtotal"]
    assert checks(order, fulfilment_status="fulfilled") == ["fulfilment_status"]
    settled = dataclasses.replace(stored.refunds[refund.id], settled=True)
    assert checks(order, refunds={refund.id: settled}) == ["refund_settled_at"]


def test_over_refunded_orders_and_statuses_that_disagree_with_the_ledger() -> None:
    order = refunded_order()
    order.status = OrderStatus.PAID
    assert checks(order) == ["order_status"]
    order.payment.captured = Money(900, EUR)  # less than the 1000 refunded
    assert "refund_cap" in checks(order)


def test_a_card_refund_no_worker_will_send_is_reported() -> None:
    order = refunded_order()
    refund = order.refunds[0]
    assert refund.status is RefundStatus.STARTED
    assert refund.money_amount.minor > 0
    drifts = order_drifts(order, stored_figures(order), points_ledger(order), frozenset())
    assert [drift.check for drift in drifts] == ["refund_in_flight"]


def test_points_that_disagree_with_the_order_or_its_ledger() -> None:
    order = refunded_order()
    assert order.points.restored > 0
    ledger = points_ledger(order)
    found = order_drifts(
        order, stored_figures(order), dataclasses.replace(ledger, restored=0), waiting(order)
    )
    assert [drift.check for drift in found] == ["points_ledger_restored"]
    # A shortfall the ledger recorded excuses exactly that many points, no more.
    short = dataclasses.replace(ledger, restored=ledger.restored + 5, restored_shortfall=5)
    assert order_drifts(order, stored_figures(order), short, waiting(order)) == []
    order.points.restored += 1
    names = [d.check for d in order_drifts(order, stored_figures(order), ledger, waiting(order))]
    assert names == ["points_restored", "refund_points_restored", "points_ledger_restored"]


def invoice(start: datetime, opening: int, top_ups: int, credits: int) -> Invoice:
    return Invoice(
        id=uuid.uuid4(),
        merchant_id=uuid.uuid4(),
        currency=EUR,
        period_start=start,
        period_end=start + timedelta(days=1),
        opening_balance=Money(opening, EUR),
        top_ups=Money(top_ups, EUR),
        charges=Money(0, EUR),
        adjustments=Money(0, EUR),
        credits=Money(credits, EUR),
        closed_at=start + timedelta(days=1),
        credited=(),
    )


def test_float_invoices_chain_and_credits() -> None:
    day = datetime(2026, 11, 1, tzinfo=UTC)
    first, second = invoice(day, 0, 5000, 300), invoice(day + timedelta(days=1), 5300, 0, 0)
    refund_id = uuid.uuid4()
    credit = FloatCredit(refund_id, first.id, 300, 300, "float", "completed")
    ledger = FloatLedger(
        balance=5300,
        credits=(credit,),
        completed_float_refunds=frozenset({refund_id}),
        period_totals={first.id: {"top_up": 5000}},
    )
    merchant = uuid.uuid4()
    assert float_drifts(merchant, ledger, [second, first]) == []
    broken = dataclasses.replace(second, opening_balance=Money(5000, EUR))
    assert [d.check for d in float_drifts(merchant, ledger, [first, broken])] == ["invoice_opening"]
    uncredited = dataclasses.replace(ledger, credits=(), balance=5000)
    assert [d.check for d in float_drifts(merchant, uncredited, [first, second])] == [
        "float_credit_missing",
        "invoice_credits",
    ]
    overdrawn = dataclasses.replace(ledger, balance=-1)
    assert [d.check for d in float_drifts(merchant, overdrawn, [first, second])] == [
        "float_balance"
    ]


@pytest.mark.parametrize("figure", ["refunds", "gross_sales", "orders"])
def test_a_report_total_that_disagrees_is_named(figure: str) -> None:
    order = refunded_order()
    order.complete_refund(order.refunds[0].id, NOW + timedelta(hours=1))
    totals = ReportTotals()
    totals.add(order)
    figures = totals.figures["EUR"]
    row = SummaryRow(period=NOW.date(), currency="EUR", **figures)
    assert report_drifts(uuid.uuid4(), totals, [row]) == []
    off = dataclasses.replace(row, **{figure: figures[figure] + 1})
    assert [d.check for d in report_drifts(uuid.uuid4(), totals, [off])] == [f"report_{figure}"]


def test_a_failed_cancellation_refund_retried_as_goodwill_is_a_drift() -> None:
    # given a cancelled card order whose cancellation refund the provider refused
    order = stop_check_order()
    order.cancel(reason=None, status_label=None, created_by="t", now=STOP_NOW)
    [cancellation] = order.refunds
    order.fail_refund(cancellation.id, "declined", STOP_NOW)
    # a retry made as it is now is no drift
    assert stop_refund_drifts(order) == []
    # when the money went back as goodwill instead (the bug issue 19 found)
    record_refund(
        order,
        RefundRequest.full(),
        kind=RefundKind.REFUND,
        method=RefundMethod.ORIGINAL,
        reason=None,
        created_by="t",
        now=STOP_NOW,
    )
    # then verify names it
    assert [drift.check for drift in stop_refund_drifts(order)] == ["stop_refund_as_goodwill"]
    # and the retry the order makes now is no drift
    retried = stop_check_order()
    retried.cancel(reason=None, status_label=None, created_by="t", now=STOP_NOW)
    retried.fail_refund(retried.refunds[0].id, "declined", STOP_NOW)
    made = retried.refund(
        RefundRequest.full(), method=None, reason=None, created_by="t", now=STOP_NOW
    )
    assert made.kind is RefundKind.CANCELLATION
    assert stop_refund_drifts(retried) == []


STOP_NOW = datetime(2026, 12, 6, tzinfo=UTC)


def stop_check_order() -> Order:
    return place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("a@example.com"),
        currency=Currency.of("EUR"),
        lines=[NewLine("MUG", "Mug", LineKind.PHYSICAL, 2, 1000, 100, 380)],
        shipping_amount=490,
        shipping_tax=98,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=STOP_NOW,
    )


def test_money_left_on_a_cancelled_order_is_a_drift() -> None:
    # given an authorized order of two lines whose mugs were cancelled while only held
    order = place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("a@example.com"),
        currency=EUR,
        lines=[
            NewLine("MUG", "Mug", LineKind.PHYSICAL, 2, 1000, 100, 380),
            NewLine("POT", "Pot", LineKind.PHYSICAL, 1, 5000, 0, 1000),
        ],
        shipping_amount=490,
        shipping_tax=98,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.MANUAL,
        authorized=None,
        captured=None,
        now=STOP_NOW,
    )
    order.cancel_item(order.lines[0].id, reason=None, created_by="t", now=STOP_NOW)
    order.capture(None, STOP_NOW)
    # when the capture took the mugs too (the older defect) and the teapot is cancelled
    order.payment.captured = order.total
    order.cancel_item(order.lines[1].id, reason=None, created_by="t", now=STOP_NOW)
    # then the cancelled order still holds the mugs' money, and verify names it
    assert (order.status, order.refundable) == (OrderStatus.CANCELLED, Money(2280, EUR))
    assert [drift.check for drift in stop_refund_drifts(order)] == ["money_left_on_stopped_order"]
    # and money a refused cancellation refund owes is no drift
    owing = stop_check_order()
    owing.cancel(reason=None, status_label=None, created_by="t", now=STOP_NOW)
    owing.fail_refund(owing.refunds[0].id, "declined", STOP_NOW)
    assert owing.refundable == owing.total
    assert stop_refund_drifts(owing) == []
    # nor money a line refund made before the cancel owes when it is refused after it
    earlier = stop_check_order()
    line_refund = earlier.refund(
        RefundRequest(lines=(LineRefundRequest(earlier.lines[0].id, 1),)),
        method=None, reason=None, created_by="t", now=STOP_NOW,
    )  # fmt: skip
    earlier.cancel(reason=None, status_label=None, created_by="t", now=STOP_NOW)
    earlier.fail_refund(line_refund.id, "declined", STOP_NOW)
    assert earlier.refundable == line_refund.amount
    assert stop_refund_drifts(earlier) == []


def test_units_cancelled_before_the_capture_are_no_sale() -> None:
    # given an authorized order of 3 mugs (discount 100, tax 381) and a teapot
    order = place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("a@example.com"),
        currency=EUR,
        lines=[
            NewLine("MUG", "Mug", LineKind.PHYSICAL, 3, 1000, 100, 381),
            NewLine("POT", "Pot", LineKind.PHYSICAL, 1, 5000, 0, 1000),
        ],
        shipping_amount=490,
        shipping_tax=98,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.MANUAL,
        authorized=None,
        captured=None,
        now=STOP_NOW,
    )
    # when the mugs are cancelled while the money is only held, then the rest is captured
    order.cancel_item(order.lines[0].id, reason=None, created_by="t", now=STOP_NOW)
    order.capture(None, STOP_NOW)
    # then the report counts the teapot and the shipping alone: what the capture took
    totals = ReportTotals()
    totals.add(order)
    sale = totals.figures["EUR"]
    assert (sale["gross_sales"], sale["discounts"], sale["tax"]) == (5000, 0, 1000 + 98)
    assert sale["gross_sales"] - sale["discounts"] + sale["tax"] + sale["shipping"] == 6588
    assert order.payment.captured == Money(6588, EUR)
    assert order_drifts(order, stored_figures(order), points_ledger(order), waiting(order)) == []
    # and the mugs' columns as they stood (the whole order) are a drift verify names
    whole = {"subtotal": 8000, "discount": 100, "tax": 1381}
    assert sorted(checks(order, **whole)) == ["order_discount", "order_subtotal", "order_tax"]


def test_a_stopped_orders_refused_refund_leaves_its_sale_whole() -> None:
    # given a paid order cancelled whole, its cancellation refund refused by the provider
    order = stop_check_order()
    order.cancel(reason=None, status_label=None, created_by="t", now=STOP_NOW)
    order.fail_refund(order.refunds[0].id, "declined", STOP_NOW)
    # then its units count as cancelled again (the money is owed), yet they were sold
    assert order.lines[0].cancelled_quantity == 2
    totals = ReportTotals()
    totals.add(order)
    sale = totals.figures["EUR"]
    assert (sale["gross_sales"], sale["discounts"], sale["tax"]) == (2000, 100, 380 + 98)
    assert sale["cancellations"] == 0  # the refused refund took nothing back
