"""Repositories and the unit of work on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from refundry.adapters.db.tables import metadata
from refundry.bootstrap import Container
from refundry.domain.errors import DuplicateExternalId, OrderNotFound
from refundry.domain.order import (
    Customer,
    LineKind,
    LineRefundRequest,
    NewLine,
    Order,
    RefundRequest,
)
from refundry.services import transactions
from refundry.services.handlers import orders
from refundry.services.handlers.cancellation import cancel_order
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from refundry.services.handlers.refunds import refund_order
from refundry.services.unit_of_work import UnitOfWork
from tests.conftest import settle


def place(container: Container, merchant: NewMerchant, external_id: str | None = None) -> Order:
    command = orders.PlaceOrder(
        merchant_id=merchant.merchant.id,
        external_id=external_id,
        customer=Customer("kai@example.com", "cust-7"),
        currency_code="KWD",
        lines=[
            NewLine("LAMP", "Lamp", LineKind.PHYSICAL, 3, 12_345, 1_001, 1_851),
            NewLine("EBOOK", "E-book", LineKind.DIGITAL, 1, 2_000, 0, 0),
        ],
        shipping_amount=1_500,
        shipping_tax=225,
    )
    return transactions.run(container.uow_factory, lambda uow: orders.ingest_order(uow, command))


def load(container: Container, merchant: NewMerchant, order_id: uuid.UUID) -> Order:
    return transactions.read(
        container.uow_factory, lambda uow: uow.orders.get(merchant.merchant.id, order_id)
    )


def test_schema_from_migrations_matches_the_table_definitions(container: Container) -> None:
    # given a database built by the Alembic migrations
    with container.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        # then autogenerate finds nothing to add, drop or alter
        assert compare_metadata(context, metadata) == []


def test_an_order_with_refunds_reads_back_exactly(
    container: Container, merchant: NewMerchant
) -> None:
    # given an order with a partial refund and its status history
    placed = place(container, merchant, external_id="RT-1")
    lamp = placed.lines[0]
    transactions.run(
        container.uow_factory,
        lambda uow: refund_order(
            uow,
            container.quotes,
            merchant.merchant.id,
            placed.id,
            RefundRequest(lines=(LineRefundRequest(lamp.id, 2),), shipping=700),
            method=None,
            reason="Flickers",
            quote=None,
            actor="test",
        ),
    )
    # and the provider has settled it (the worker's poll and record, in new transactions)
    settle(container)
    # when it is loaded in a new transaction
    loaded = load(container, merchant, placed.id)
    # then every field, line and refund line survived the round trip
    assert loaded.currency.code == "KWD"
    assert loaded.customer == Customer("kai@example.com", "cust-7")
    assert [(line.sku, line.quantity, line.unit_price.minor) for line in loaded.lines] == [
        ("LAMP", 3, 12_345),
        ("EBOOK", 1, 2_000),
    ]
    assert loaded.total == placed.total
    [refund] = loaded.refunds
    assert refund.reason == "Flickers"
    assert refund.breakdown.lines[0].quantity == 2
    assert refund.breakdown.shipping.minor == 700
    assert refund.breakdown.shipping_tax.minor == 105  # 225 * 700 / 1500
    assert refund.amount.minor == (12_345 * 2 - 667 + 1_234) + 700 + 105
    assert [change.status.value for change in refund.history] == [
        "started",
        "processing",
        "completed",
    ]
    assert refund.provider_reference is not None
    assert refund.provider_reference.startswith("re_")
    assert refund.created_at.tzinfo is not None
    assert loaded.status.value == "partially_refunded"
    assert loaded.version == placed.version + 3  # refunded, processing, completed


def test_a_use_case_that_fails_midway_writes_nothing(
    container: Container, merchant: NewMerchant
) -> None:
    # given a paid order
    placed = place(container, merchant)

    def cancel_then_fail(uow: UnitOfWork) -> None:
        cancel_order(
            uow, merchant.merchant.id, placed.id, reason=None, status_label=None, actor="t"
        )
        raise RuntimeError("crash after the change, before the commit")

    # when the use case raises after cancelling and restocking
    with pytest.raises(RuntimeError):
        transactions.run(container.uow_factory, cancel_then_fail)
    # then neither the order nor the stock changed
    assert load(container, merchant, placed.id).status.value == "paid"
    stock = transactions.read(
        container.uow_factory, lambda uow: uow.stock.list(merchant.merchant.id, ["LAMP"])
    )
    assert stock[0].on_hand == -3


def test_another_merchants_order_is_not_found(container: Container, merchant: NewMerchant) -> None:
    # given an order of one merchant
    placed = place(container, merchant)
    other = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Other"))
    # then the other merchant can neither load nor find it
    with pytest.raises(OrderNotFound):
        load(container, other, placed.id)
    found = transactions.read(
        container.uow_factory,
        lambda uow: uow.orders.search(other.merchant.id, str(placed.id), limit=10, offset=0),
    )
    assert found == []


def test_external_ids_are_unique_per_merchant(container: Container, merchant: NewMerchant) -> None:
    # given an order with an external id
    place(container, merchant, external_id="SAME")
    # then the same merchant cannot ingest it twice, another merchant can
    with pytest.raises(DuplicateExternalId):
        place(container, merchant, external_id="SAME")
    other = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Other"))
    assert place(container, other, external_id="SAME").external_id == "SAME"


def test_search_finds_by_id_external_id_and_email_newest_first(
    container: Container, merchant: NewMerchant
) -> None:
    first = place(container, merchant, external_id="S-1")
    second = place(container, merchant, external_id="S-2")

    def search(text: str) -> list[uuid.UUID]:
        found = transactions.read(
            container.uow_factory,
            lambda uow: uow.orders.search(merchant.merchant.id, text, limit=10, offset=0),
        )
        return [order.id for order in found]

    assert search(str(first.id)) == [first.id]
    assert search("S-2") == [second.id]
    assert search("KAI@example.com") == [second.id, first.id]
    assert search("nobody@example.com") == []


def test_the_sql_unit_of_work_refuses_to_commit_events_nobody_handled(
    container: Container, merchant: NewMerchant
) -> None:
    # given a paid order, cancelled in a unit of work that is committed directly, not
    # through the message bus (which would write its outbox message, webhook and stock)
    placed = place(container, merchant)
    with container.uow_factory() as uow:
        cancel_order(
            uow, merchant.merchant.id, placed.id, reason=None, status_label=None, actor="t"
        )
        # when it commits: refused, as the refund's outbox message would be lost
        with pytest.raises(RuntimeError, match="not handled"):
            uow.commit()
    # then nothing of the cancel was written
    assert load(container, merchant, placed.id).status.value == "paid"
    # (leasing writes, so it is looked at in a write transaction that is never committed:
    # a read transaction is READ ONLY on PostgreSQL)
    with container.uow_factory() as uow:
        outbox = uow.outbox.lease_due(
            datetime.now(UTC) + timedelta(days=1), limit=1000, lease_until=datetime.now(UTC)
        )
    assert all(message.order_id != placed.id for message in outbox)
