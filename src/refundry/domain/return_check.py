"""What ``refundry verify`` checks of returns, recomputed from the orders' ledgers:

- each return's received units lie within what it lists, and each line's units in active
  returns, refunded and cancelled never exceed what was sold;
- a closed return names a refund that counts, refunds exactly the units that arrived, and
  keeps exactly the fees its settings give (restocking share by the allocator, plus the
  flat return-shipping fee, at most the units' value); an active return names none;
- the summary report's ``returns``, ``units_returned`` and ``fees_kept``, summed over all
  time, are what the returns and refunds say.

Nothing here reads a database (``services.views.verify`` feeds it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from refundry.domain.ledger_check import SETTLED_REFUND_STATUSES, Drift
from refundry.domain.order import Order
from refundry.domain.refund import Refund, sum_money
from refundry.domain.reporting import SummaryRow
from refundry.domain.returns import OrderReturn, ReturnStatus, restocking_fee

RETURN_REPORT_FIGURES = ("returns", "units_returned", "fees_kept")


@dataclass(slots=True)
class ReturnExpected:
    """Gathered order by order as verify reads them."""

    merchant_id: uuid.UUID
    figures: dict[str, dict[str, int]] = field(default_factory=dict)
    drifts: list[Drift] = field(default_factory=list)

    def add(self, order: Order) -> None:
        row = self.figures.setdefault(order.currency.code, dict.fromkeys(RETURN_REPORT_FIGURES, 0))
        for refund in order.refunds:
            if refund.status in SETTLED_REFUND_STATUSES:
                row["fees_kept"] += refund.breakdown.fees.minor
        for line in order.lines:
            refunded = order.line_refunds(line.id).quantity
            held = order.units_in_returns(line.id)
            if refunded + held + line.cancelled_quantity > line.quantity:
                self._drift(
                    "return_units_exceed_sold",
                    f"order {order.id} line {line.id}",
                    line.quantity,
                    refunded + held + line.cancelled_quantity,
                )
        for order_return in order.returns:
            row["returns"] += 1
            row["units_returned"] += order_return.received_units
            self._check_return(order, order_return)

    def _check_return(self, order: Order, order_return: OrderReturn) -> None:
        subject = f"return {order_return.id}"
        for line in order_return.lines:
            if not 0 <= line.received <= line.quantity:
                self._drift("return_received", subject, line.quantity, line.received)
        if order_return.status is not ReturnStatus.CLOSED:
            if order_return.refund_id is not None:
                self._drift("return_refund", subject, None, order_return.refund_id)
            return
        if order_return.exchange_order_id is not None and order_return.refund_id is None:
            return
        refund = _refund(order, order_return.refund_id)
        if refund is None or not refund.counts_against_cap:
            self._drift("return_refund", subject, "a refund that counts", order_return.refund_id)
            return
        received = {
            line.order_line_id: line.received for line in order_return.lines if line.received
        }
        refunded = {line.order_line_id: line.quantity for line in refund.breakdown.lines}
        if received != refunded:
            self._drift("return_refund_units", subject, received, refunded)
        fees = (
            sum_money(
                (
                    restocking_fee(
                        line.amount, order_return.fee_bp(order_return.line_for(line.order_line_id))
                    )
                    for line in refund.breakdown.lines
                ),
                order.currency,
            )
            + order_return.return_shipping_fee
        )
        # Fewer units than listed may have come: the fees keep at most what they are worth.
        fees = min(fees, refund.breakdown.lines_amount)
        if fees != refund.breakdown.fees:
            self._drift("return_fees", subject, fees.minor, refund.breakdown.fees.minor)

    def report_drifts(self, reported: Iterable[SummaryRow]) -> list[Drift]:
        """The summary's return figures, summed over all its periods, against the orders."""
        sums: dict[str, dict[str, int]] = {}
        for row in reported:
            figures = sums.setdefault(row.currency, dict.fromkeys(RETURN_REPORT_FIGURES, 0))
            for name in RETURN_REPORT_FIGURES:
                figures[name] += getattr(row, name)
        drifts = []
        zero = dict.fromkeys(RETURN_REPORT_FIGURES, 0)
        for currency in sorted(self.figures.keys() | sums.keys()):
            want, got = self.figures.get(currency, zero), sums.get(currency, zero)
            for name in RETURN_REPORT_FIGURES:
                if want[name] != got[name]:
                    drifts.append(
                        Drift(
                            f"report_{name}",
                            self.merchant_id,
                            f"summary report, {currency}",
                            str(want[name]),
                            str(got[name]),
                        )
                    )
        return drifts

    def _drift(self, check: str, subject: str, expected: object, found: object) -> None:
        self.drifts.append(Drift(check, self.merchant_id, subject, str(expected), str(found)))


def _refund(order: Order, refund_id: uuid.UUID | None) -> Refund | None:
    for refund in order.refunds:
        if refund.id == refund_id:
            return refund
    return None
