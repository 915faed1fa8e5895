"""Reconciliation twice is reconciliation once, whatever the orders and records look like:
the second run reverses nothing, finds nothing, and leaves every order, refund, points
entry and discrepancy as the first left them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refundry.adapters.db.tables import ledgers as ledger_tables
from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import reconciliation as reconciliation_tables
from refundry.adapters.db.tables import webhooks as webhook_tables
from refundry.bootstrap import Container
from refundry.domain.money import Currency, Money
from refundry.domain.order import Customer, LineKind, NewLine, PaymentMethod, RefundRequest
from refundry.domain.points import PointsProgram
from refundry.domain.reconciliation import ExpectedRecord
from refundry.services import transactions
from refundry.services.handlers import orders, points, reconciliation
from refundry.services.handlers.merchants import create_merchant

EUR = Currency.of("EUR")

# What happens to each redeem order's record: none, a true one, a wrong amount, wrong points.
RECORD_FATES = st.sampled_from(["missing", "true", "amount", "points"])


def _snapshot(container: Container, merchant_id: uuid.UUID) -> dict[str, Any]:
    with container.engine.connect() as connection:

        def rows(table: sa.Table, *columns: str) -> list[tuple[Any, ...]]:
            query = sa.select(*(table.c[name] for name in columns)).where(
                table.c.merchant_id == merchant_id
            )
            return sorted(tuple(row) for row in connection.execute(query))

        return {
            "orders": rows(order_tables.orders, "id", "status", "version", "points_restored"),
            "refunds": rows(order_tables.refunds, "id", "status", "amount", "points_restored"),
            "points": rows(ledger_tables.points_entries, "kind", "points", "order_id"),
            "discrepancies": rows(
                reconciliation_tables.reconciliation_discrepancies, "kind", "subject", "resolved_at"
            ),
            "webhooks": rows(webhook_tables.webhook_events, "id", "type"),
        }


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fates=st.lists(RECORD_FATES, min_size=1, max_size=6),
    orphans=st.integers(0, 2),
    partly_refunded=st.sets(st.integers(0, 5)),
)
def test_reconciling_twice_changes_nothing_the_second_time(
    sqlite_container: Container, fates: list[str], orphans: int, partly_refunded: set[int]
) -> None:
    container = sqlite_container
    merchant_id = transactions.run(
        container.uow_factory, lambda uow: create_merchant(uow, "Twice")
    ).merchant.id
    customer = Customer("a@b.example", "c-1")
    line = NewLine("S", "S", LineKind.PHYSICAL, 2, 1000)
    transactions.run(
        container.uow_factory,
        lambda uow: points.set_program(uow, merchant_id, PointsProgram(points_per_unit=100)),
    )
    transactions.run(
        container.uow_factory,
        lambda uow: orders.ingest_order(
            uow, orders.PlaceOrder(merchant_id, "EARN", customer, "EUR", [line])
        ),
    )
    # the earning order's true record: the merchant sends records, so it is reconciled
    records = [
        ExpectedRecord(
            "tx-earn", "EARN", Money(2000, EUR), occurred_at=datetime(2026, 1, 1, tzinfo=UTC)
        )
    ]
    for index, fate in enumerate(fates):
        placed = orders.PlaceOrder(
            merchant_id,
            f"R-{index}",
            customer,
            "EUR",
            [line],
            payment_method=PaymentMethod.OTHER,
            points_redeemed=50,
            points_value=500,
        )
        order = transactions.run(
            container.uow_factory, lambda uow: orders.ingest_order(uow, placed)
        )
        if index in partly_refunded:
            transactions.run(
                container.uow_factory,
                lambda uow: uow.orders.get(merchant_id, order.id).refund(
                    RefundRequest(amount=300),
                    method=None,
                    reason=None,
                    created_by="t",
                    now=datetime.now(UTC),
                ),
            )
        if fate != "missing":
            amount = 2000 - (1 if fate == "amount" else 0)
            records.append(
                ExpectedRecord(
                    f"tx-{index}",
                    f"R-{index}",
                    Money(amount, EUR),
                    points=49 if fate == "points" else 50,
                )
            )
    records += [ExpectedRecord(f"orphan-{n}", f"nope-{n}", Money(100, EUR)) for n in range(orphans)]
    list(reconciliation.import_records(container.uow_factory, merchant_id, records))
    later = datetime.now(UTC) + timedelta(hours=2)

    first = reconciliation.reconcile(
        container.uow_factory, merchant_id, grace=timedelta(hours=1), now=later
    )
    after_first = _snapshot(container, merchant_id)
    second = reconciliation.reconcile(
        container.uow_factory, merchant_id, grace=timedelta(hours=1), now=later
    )

    assert len(first.orders_auto_refunded) == fates.count("missing")
    assert first.discrepancies_found == fates.count("amount") + fates.count("points") + orphans
    assert (second.orders_auto_refunded, second.discrepancies_found) == ((), 0)
    assert second.discrepancies_resolved == 0
    assert _snapshot(container, merchant_id) == after_first
    statuses = {row[1] for row in after_first["orders"]}
    assert ("auto_refunded" in statuses) == ("missing" in fates)
    events = [row[1] for row in after_first["webhooks"]]
    assert events.count("auto_refunded") == fates.count("missing")
