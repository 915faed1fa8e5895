"""Ledger verification: every figure Refundry stores beside its ledgers, recomputed from
them, and the drift between the two.

An order's refunds (their lines, amounts and status histories) are the ledger of money
given back; points entries are the ledger of points; float entries the ledger of the
float. Orders, refunds and invoices also keep figures that could be derived (a status, a
refund's amount column, the points an order reversed, an invoice's closing balance), and
reports and the provider outbox read those. A drift is a stored figure that disagrees
with its recomputation, or a ledger that breaks a rule money must keep (more refunded
than captured, a card refund no worker will ever send). Nothing here reads a database:
``services.views.verify`` feeds these checks and ``refundry verify`` prints what they find.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from refundry.domain.merchant_float import Invoice
from refundry.domain.money import Money
from refundry.domain.order import Order
from refundry.domain.points import OrderPoints
from refundry.domain.refund import Refund, RefundKind, RefundMethod, RefundStatus
from refundry.domain.reporting import SummaryRow, reason_key
from refundry.domain.status import OrderStatus

LEDGER_STATUSES = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.FULLY_REFUNDED)
SETTLED_REFUND_STATUSES = (RefundStatus.COMPLETED, RefundStatus.NOT_REQUESTED)


@dataclass(frozen=True, slots=True)
class Drift:
    """One disagreement: ``check`` is a stable name (docs/reliability.md lists them)."""

    check: str
    merchant_id: uuid.UUID
    subject: str  # what disagrees: "order <id>", "refund <id>", "float", "report EUR"...
    expected: str
    found: str


@dataclass(frozen=True, slots=True)
class StoredRefundFigures:
    """A refund's columns that loading ignores: reports and exports read them."""

    amount: int
    tax: int
    subtotal: int
    discount: int
    settled: bool  # ``settled_at`` is set
    reason_key: str


@dataclass(frozen=True, slots=True)
class StoredOrderFigures:
    """An order's columns that loading ignores (reports group on them)."""

    total: int
    subtotal: int
    discount: int
    tax: int
    fulfilment_status: str
    refunds: Mapping[uuid.UUID, StoredRefundFigures]


@dataclass(frozen=True, slots=True)
class OrderPointsLedger:
    """An order's points entries, summed by kind; all figures are points moved, positive."""

    earned: int = 0
    redeemed: int = 0
    taken: int = 0  # reversals, net of the adjustments that undid them
    taken_shortfall: int = 0  # owed by reversals but not taken (record_shortfall)
    restored: int = 0  # restorations, net of those taken again
    restored_shortfall: int = 0  # taken again only in part: the customer had spent them


def order_drifts(
    order: Order,
    stored: StoredOrderFigures,
    points: OrderPointsLedger,
    refunds_in_flight: frozenset[uuid.UUID],
) -> list[Drift]:
    """Everything one order's stored figures must be, given its ledgers.

    ``refunds_in_flight``: the refunds a worker will still send or poll (a pending
    provider message names them)."""
    found = _Findings(order.merchant_id, f"order {order.id}")
    _money_drifts(order, found)
    _quantity_drifts(order, stored, found)
    for refund in order.refunds:
        _refund_drifts(order, refund, stored.refunds.get(refund.id), refunds_in_flight, found)
    _points_drifts(order, points, found)
    return found.drifts


def _money_drifts(order: Order, found: _Findings) -> None:
    captured = order.payment.captured
    found.expect("capture_within_total", captured <= order.total, order.total, captured)
    found.expect("refund_cap", order.refunded <= captured, captured, order.refunded)
    if order.status in LEDGER_STATUSES:
        expected = order.status_from_ledger()
        found.expect("order_status", order.status is expected, expected, order.status)
    elif order.status in (OrderStatus.PENDING, OrderStatus.AUTHORIZED):
        found.expect("refund_before_capture", not order.refunds, "no refund", len(order.refunds))


def _quantity_drifts(order: Order, stored: StoredOrderFigures, found: _Findings) -> None:
    sold, sold_discount, sold_tax = order.sales  # the report columns hold what was sold
    figures = {
        "subtotal": (stored.subtotal, sold.minor),
        "discount": (stored.discount, sold_discount.minor),
        "tax": (stored.tax, sold_tax.minor),
        "total": (stored.total, order.total.minor),
    }
    for name, (column, recomputed) in figures.items():
        expected = Money(recomputed, order.currency)
        found.expect(f"order_{name}", column == recomputed, expected, column)
    found.expect(
        "fulfilment_status",
        stored.fulfilment_status == order.fulfilment_status.value,
        order.fulfilment_status,
        stored.fulfilment_status,
    )
    for line in order.lines:
        refunded = order.line_refunds(line.id)
        removed = line.cancelled_quantity + refunded.quantity
        shipped_or_removed = (
            line.fulfilled_quantity + line.cancelled_quantity + refunded.unfulfilled_quantity
        )
        found.expect(
            "line_quantity",
            0 <= removed <= line.quantity and 0 <= shipped_or_removed <= line.quantity,
            f"line {line.id}: at most {line.quantity} units cancelled and refunded",
            f"{line.cancelled_quantity} cancelled, {refunded.quantity} refunded, "
            f"{line.fulfilled_quantity} fulfilled",
        )


def _refund_drifts(
    order: Order,
    refund: Refund,
    stored: StoredRefundFigures | None,
    in_flight: frozenset[uuid.UUID],
    found: _Findings,
) -> None:
    subject = found.subject
    found.subject = f"refund {refund.id} of order {order.id}"
    try:
        if stored is not None:
            breakdown = refund.breakdown
            figures = {
                "amount": (stored.amount, refund.amount.minor),
                "tax": (stored.tax, breakdown.tax.minor),
                "subtotal": (stored.subtotal, sum(x.subtotal.minor for x in breakdown.lines)),
                "discount": (stored.discount, sum(x.discount.minor for x in breakdown.lines)),
            }
            for name, (column, recomputed) in figures.items():
                found.expect(f"refund_{name}", column == recomputed, recomputed, column)
            settles = refund.status in SETTLED_REFUND_STATUSES
            found.expect(
                "refund_settled_at",
                stored.settled is settles,
                "set" if settles else "unset",
                "set" if stored.settled else "unset",
            )
            found.expect(
                "refund_reason_key",
                stored.reason_key == reason_key(refund.reason),
                reason_key(refund.reason),
                stored.reason_key,
            )
        last = refund.history[-1].status if refund.history else None
        found.expect("refund_history", last is refund.status, refund.status, last)
        found.expect(
            "refund_completed_at",
            (refund.completed_at is not None) is (refund.status is RefundStatus.COMPLETED),
            "set only when completed",
            refund.completed_at,
        )
        if refund.points_value is not None:
            found.expect(
                "refund_points_value",
                0 <= refund.points_value.minor <= refund.amount.minor,
                f"0 to {refund.amount}",
                refund.points_value,
            )
        if _waits_for_provider(refund):
            found.expect(
                "refund_in_flight",
                refund.id in in_flight,
                "a pending provider message that sends or polls it",
                "none: no worker will ever settle it",
            )
    finally:
        found.subject = subject


def _waits_for_provider(refund: Refund) -> bool:
    return (
        refund.is_pending
        and refund.is_sent_to_provider
        and refund.method is RefundMethod.ORIGINAL
        and refund.money_amount.minor > 0
    )


def _points_drifts(order: Order, ledger: OrderPointsLedger, found: _Findings) -> None:
    held = order.points
    captured = order.payment.captured
    if not order.payment.points_value <= captured or not order.refunded <= captured:
        return  # no share of an impossible whole: refund_cap already says so
    recomputed = OrderPoints(earned=held.earned, redeemed=held.redeemed)
    recomputed.rebalance(
        order.refunded,
        order.payment.captured,
        order.points_value_refunded,
        order.payment.points_value,
    )
    found.expect("points_earned", held.earned == ledger.earned, ledger.earned, held.earned)
    found.expect(
        "points_redeemed", held.redeemed == ledger.redeemed, ledger.redeemed, held.redeemed
    )
    found.expect(
        "points_reversed", held.reversed == recomputed.reversed, recomputed.reversed, held.reversed
    )
    found.expect(
        "points_restored", held.restored == recomputed.restored, recomputed.restored, held.restored
    )
    charged_reversed = sum(refund.points_reversed for refund in order.refunds)
    charged_restored = sum(refund.points_restored for refund in order.refunds)
    found.expect(
        "refund_points_reversed", charged_reversed == held.reversed, held.reversed, charged_reversed
    )
    found.expect(
        "refund_points_restored", charged_restored == held.restored, held.restored, charged_restored
    )
    # The ledger may fall short of the order (a customer who had spent the points), by
    # at most the shortfall it recorded; it never goes past it.
    found.expect(
        "points_ledger_reversed",
        ledger.taken <= held.reversed <= ledger.taken + ledger.taken_shortfall,
        f"{held.reversed} taken, less at most {ledger.taken_shortfall} shortfall",
        ledger.taken,
    )
    restored_ceiling = min(held.restored + ledger.restored_shortfall, held.redeemed)
    found.expect(
        "points_ledger_restored",
        held.restored <= ledger.restored <= restored_ceiling,
        f"{held.restored} given back, plus at most {ledger.restored_shortfall} not taken again",
        ledger.restored,
    )


# ----------------------------------------------------------------------- float
@dataclass(frozen=True, slots=True)
class FloatCredit:
    """A ``credit`` entry and the refund it credits."""

    refund_id: uuid.UUID | None
    invoice_id: uuid.UUID | None
    amount: int
    refund_amount: int | None  # None: no such refund
    refund_method: str | None
    refund_status: str | None


@dataclass(frozen=True, slots=True)
class FloatLedger:
    balance: int  # the sum of every entry
    credits: tuple[FloatCredit, ...]
    completed_float_refunds: frozenset[uuid.UUID]  # float refunds the ledger says were credited
    # Per invoice: the entries of each kind in its period, as a close sums them.
    period_totals: Mapping[uuid.UUID, Mapping[str, int]]


def float_drifts(
    merchant_id: uuid.UUID, ledger: FloatLedger, invoices: Iterable[Invoice]
) -> list[Drift]:
    found = _Findings(merchant_id, "float")
    found.expect("float_balance", ledger.balance >= 0, ">= 0", ledger.balance)
    credited: dict[uuid.UUID, int] = {}
    credits_by_invoice: dict[uuid.UUID | None, int] = {}
    for credit in ledger.credits:
        if credit.refund_id is not None:
            credited[credit.refund_id] = credited.get(credit.refund_id, 0) + 1
        credits_by_invoice[credit.invoice_id] = (
            credits_by_invoice.get(credit.invoice_id, 0) + credit.amount
        )
        found.expect(
            "float_credit",
            credit.refund_amount == credit.amount
            and credit.refund_method == RefundMethod.FLOAT.value
            and credit.refund_status == RefundStatus.COMPLETED.value,
            f"refund {credit.refund_id}: a completed float refund of {credit.amount}",
            f"{credit.refund_method} refund of {credit.refund_amount}, {credit.refund_status}",
        )
    for refund_id in sorted(ledger.completed_float_refunds - credited.keys()):
        found.expect("float_credit_missing", False, f"a credit for refund {refund_id}", "none")
    previous: Invoice | None = None
    for invoice in sorted(invoices, key=lambda item: item.period_start):
        found.subject = f"invoice {invoice.id}"
        opening = previous.closing_balance if previous else Money.zero(invoice.currency)
        found.expect(
            "invoice_opening", invoice.opening_balance == opening, opening, invoice.opening_balance
        )
        credits = credits_by_invoice.get(invoice.id, 0)
        found.expect("invoice_credits", invoice.credits.minor == credits, credits, invoice.credits)
        totals = ledger.period_totals.get(invoice.id, {})
        for kind, figure, sign in (
            ("top_up", invoice.top_ups, 1),
            ("order_charge", invoice.charges, -1),
            ("adjustment", invoice.adjustments, 1),
        ):
            entries = sign * totals.get(kind, 0)
            found.expect(f"invoice_{kind}", figure.minor == entries, entries, figure)
        previous = invoice
    return found.drifts


# --------------------------------------------------------------------- reports
REPORT_FIGURES = (
    "orders",
    "gross_sales",
    "discounts",
    "tax",
    "shipping",
    "cancellations",
    "cancellation_count",
    "refunds",
    "refund_count",
    "refunded_sales",
    "refunded_tax",
    "refunded_shipping",
)


@dataclass(slots=True)
class ReportTotals:
    """The summary's all-time figures per currency, recomputed per order (docs/reports.md)."""

    figures: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, order: Order) -> None:
        row = self.figures.setdefault(order.currency.code, dict.fromkeys(REPORT_FIGURES, 0))
        if order.payment.captured.minor > 0:
            sold, discount, tax = order.sales  # less units cancelled before the capture
            row["orders"] += 1
            row["gross_sales"] += sold.minor
            row["discounts"] += discount.minor
            row["tax"] += tax.minor + order.shipping.tax.minor
            row["shipping"] += order.shipping.amount.minor
        for refund in order.refunds:
            if refund.status not in SETTLED_REFUND_STATUSES:
                continue
            breakdown = refund.breakdown
            prefix = "cancellation" if refund.kind is RefundKind.CANCELLATION else "refund"
            row["cancellations" if prefix == "cancellation" else "refunds"] += refund.amount.minor
            row[f"{prefix}_count"] += 1
            row["refunded_sales"] += (
                sum(line.subtotal.minor - line.discount.minor for line in breakdown.lines)
                + breakdown.goodwill.minor
                + breakdown.adjustment.minor
                - breakdown.fees.minor
            )
            row["refunded_tax"] += breakdown.tax.minor
            row["refunded_shipping"] += breakdown.shipping.minor


def report_drifts(
    merchant_id: uuid.UUID, expected: ReportTotals, reported: Iterable[SummaryRow]
) -> list[Drift]:
    """The summary report, summed over all its periods, against the recomputation."""
    sums: dict[str, dict[str, int]] = {}
    for row in reported:
        figures = sums.setdefault(row.currency, dict.fromkeys(REPORT_FIGURES, 0))
        for name in REPORT_FIGURES:
            figures[name] += getattr(row, name)
    found = _Findings(merchant_id, "report")
    for currency in sorted(expected.figures.keys() | sums.keys()):
        found.subject = f"summary report, {currency}"
        zero = dict.fromkeys(REPORT_FIGURES, 0)
        want, got = expected.figures.get(currency, zero), sums.get(currency, zero)
        for name in REPORT_FIGURES:
            found.expect(f"report_{name}", want[name] == got[name], want[name], got[name])
    return found.drifts


@dataclass(slots=True)
class _Findings:
    merchant_id: uuid.UUID
    subject: str
    drifts: list[Drift] = field(default_factory=list)

    def expect(self, check: str, holds: bool, expected: object, found: object) -> None:
        if not holds:
            self.drifts.append(
                Drift(check, self.merchant_id, self.subject, str(expected), str(found))
            )
