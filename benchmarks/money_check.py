"""Money leaves once: the refunds as stored against the gateway's own record of them.

Every refund of the run must be completed, with exactly one refund at the gateway made
for it (its id in the refund's metadata), of the same amount, against the order's
payment, settled, and named as the refund's provider reference; the gateway must hold no
refund the database does not; and each payment's refunded total at the gateway must be
what the database refunded of it. Requests the gateway saw more than once for one
refund are counted: the idempotency key makes them harmless, but they cost a call.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.engine import create_engine
from refundry.adapters.db.tables import orders as order_tables


@dataclass(frozen=True, slots=True)
class MoneyCheck:
    summary: str
    failures: list[str]


def _stored_refunds(url: str) -> Sequence[Any]:
    refunds, orders = order_tables.refunds, order_tables.orders
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.select(
                    refunds.c.id,
                    refunds.c.status,
                    refunds.c.amount,
                    refunds.c.provider_reference,
                    orders.c.payment_reference,
                )
                .join(orders, orders.c.id == refunds.c.order_id)
                .where(refunds.c.kind == "refund")
            ).all()
    finally:
        engine.dispose()


def check_money(url: str, gateway: dict[str, Any]) -> MoneyCheck:
    stored = _stored_refunds(url)
    sent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for refund in gateway["refunds"]:
        sent[refund["metadata"].get("refundry_refund_id", "")].append(refund)
    failures: list[str] = []

    def wrong(message: str) -> None:
        if len(failures) < 10:
            failures.append(f"money: {message}")

    refunded: Counter[str] = Counter()
    for row in stored:
        made = sent.pop(str(row.id), [])
        refunded[row.payment_reference] += row.amount
        if row.status != "completed":
            wrong(f"refund {row.id} is {row.status}")
        if len(made) != 1:
            wrong(f"refund {row.id} is {len(made)} refunds at the gateway")
            continue
        [there] = made
        if (there["amount"], there["status"]) != (row.amount, "succeeded"):
            wrong(f"refund {row.id}: {row.amount} stored, gateway {there['amount']} "
                  f"{there['status']}")  # fmt: skip
        if there["payment_intent"] != row.payment_reference:
            wrong(f"refund {row.id} went to payment {there['payment_intent']}")
        if there["id"] != row.provider_reference:
            wrong(f"refund {row.id} names {row.provider_reference}, the gateway {there['id']}")
    for refund_id, made in sent.items():
        wrong(f"{len(made)} refund(s) at the gateway for {refund_id or 'no refund'} not stored")
    for intent in gateway["payment_intents"]:
        if intent["amount_refunded"] != refunded[intent["id"]]:
            wrong(f"payment {intent['id']} refunded {intent['amount_refunded']} at the gateway, "
                  f"{refunded[intent['id']]} stored")  # fmt: skip
    requests = gateway["refund_requests"]
    repeated = sum(1 for count in requests.values() if count > 1)
    summary = (
        f"{len(stored):,} refunds stored, {len(gateway['refunds']):,} at the gateway, "
        f"{sum(requests.values()):,} refund requests to it ({repeated} refunds asked more than "
        f"once); {sum(refunded.values()):,} cents refunded"
    )
    return MoneyCheck(summary, failures)
