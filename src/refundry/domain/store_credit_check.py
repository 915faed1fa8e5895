"""What ``refundry verify`` checks of store credit: every account's ledger reads back
without ever going below zero, every refund's store credit part is credited exactly once
when (and only when) the refund was given back, and every checkout that spent store
credit has its entry. Nothing here reads a database (``services.views.verify`` feeds it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from refundry.domain.ledger_check import Drift
from refundry.domain.order import Order
from refundry.domain.refund import RefundMethod
from refundry.domain.store_credit import StoreCreditAccount, StoreCreditEntryKind, replay


@dataclass(slots=True)
class StoreCreditExpected:
    """What a merchant's orders say its store credit ledger must hold, gathered order by
    order as verify reads them."""

    credits: dict[uuid.UUID, int] = field(default_factory=dict)  # settled refund -> its part
    uncredited: set[uuid.UUID] = field(default_factory=set)  # refunds not given back (yet)
    spends: dict[uuid.UUID, int] = field(default_factory=dict)  # order -> what it spent
    drifts: list[Drift] = field(default_factory=list)

    def add(self, order: Order) -> None:
        if order.payment.store_credit is not None:
            self.spends[order.id] = order.payment.store_credit.minor
        for refund in order.refunds:
            value = refund.store_credit_value
            if refund.method is RefundMethod.STORE_CREDIT and refund.money_amount.minor != 0:
                self._drift(order, "refund_store_credit_method", 0, refund.money_amount.minor)
            if value is None:
                continue
            points = refund.points_value.minor if refund.points_value is not None else 0
            if not 0 <= value.minor <= refund.amount.minor - points:
                self._drift(order, "refund_store_credit_value", refund.amount.minor, value.minor)
            if refund.is_settled and value.minor > 0:
                self.credits[refund.id] = value.minor
            else:
                self.uncredited.add(refund.id)

    def _drift(self, order: Order, check: str, expected: int, found: int) -> None:
        self.drifts.append(
            Drift(check, order.merchant_id, f"order {order.id}", str(expected), str(found))
        )


def store_credit_drifts(
    merchant_id: uuid.UUID, accounts: Iterable[StoreCreditAccount], expected: StoreCreditExpected
) -> list[Drift]:
    drifts = list(expected.drifts)

    def drift(check: str, subject: str, want: object, got: object) -> None:
        drifts.append(Drift(check, merchant_id, subject, str(want), str(got)))

    credited: dict[uuid.UUID, int] = {}
    spent: dict[uuid.UUID, int] = {}
    for account in accounts:
        subject = f"store credit {account.customer} {account.currency.code}"
        replayed = replay(account.entries)
        if replayed.lowest_balance < 0 or replayed.overdrawn:
            drift("store_credit_balance", subject, ">= 0", replayed.lowest_balance)
        sequences = [entry.sequence for entry in account.entries]
        if sequences != list(range(1, len(sequences) + 1)):
            drift("store_credit_sequence", subject, "1..n", sequences)
        for entry in account.entries:
            positive = entry.kind is StoreCreditEntryKind.ISSUED
            if entry.kind is not StoreCreditEntryKind.ADJUSTED and positive != (entry.amount > 0):
                drift(
                    "store_credit_entry_sign", f"entry {entry.id}", entry.kind.value, entry.amount
                )
            if entry.kind is StoreCreditEntryKind.ISSUED and entry.refund_id is not None:
                credited[entry.refund_id] = credited.get(entry.refund_id, 0) + entry.amount
            if entry.kind is StoreCreditEntryKind.SPENT and entry.order_id is not None:
                spent[entry.order_id] = spent.get(entry.order_id, 0) - entry.amount
    for refund_id, amount in expected.credits.items():
        if credited.get(refund_id) != amount:
            drift("store_credit_issued", f"refund {refund_id}", amount, credited.get(refund_id))
    for refund_id in expected.uncredited & credited.keys():
        drift("store_credit_issued_early", f"refund {refund_id}", None, credited[refund_id])
    for refund_id in credited.keys() - expected.credits.keys() - expected.uncredited:
        drift("store_credit_issued_unknown", f"refund {refund_id}", None, credited[refund_id])
    for order_id, amount in expected.spends.items():
        if spent.get(order_id) != amount:
            drift("store_credit_spent", f"order {order_id}", amount, spent.get(order_id))
    for order_id in spent.keys() - expected.spends.keys():
        drift("store_credit_spent_unknown", f"order {order_id}", None, spent[order_id])
    return drifts
