"""Writes held by a transaction and sent together (``adapters/db/pending_writes.py``):
each later statement still sees them, in order; on PostgreSQL writes to different tables
leave as one statement."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from refundry.adapters.db.engine import begin
from refundry.adapters.db.pending_writes import hold, insert_later, update_later
from refundry.adapters.db.tables import merchants as merchant_tables
from refundry.bootstrap import Container
from refundry.domain.errors import Conflict
from refundry.services.handlers.merchants import NewMerchant

stock = merchant_tables.stock_levels
merchants = merchant_tables.merchants


@contextmanager
def held_writes(container: Container) -> Iterator[tuple[sa.Connection, list[str]]]:
    """A write transaction holding its writes, and the statements it sends."""
    connection, transaction = begin(container.engine, write=True)
    statements: list[str] = []

    def sent(*args: Any) -> None:
        statements.append(str(args[2]).split(None, 1)[0].upper())

    try:
        pending = hold(connection)
        event.listen(connection, "before_cursor_execute", sent)
        yield connection, statements
        pending.send(connection)  # as the unit of work does before it commits
        transaction.commit()
    finally:
        if transaction.is_active:
            transaction.rollback()
        connection.close()


def shelf(merchant: NewMerchant, *skus: str, on_hand: int = 1) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {"merchant_id": merchant.merchant.id, "sku": sku, "on_hand": on_hand, "updated_at": now}
        for sku in skus
    ]


def on_hand(container: Container, merchant: NewMerchant) -> dict[str, int]:
    with container.engine.connect() as connection:
        rows = connection.execute(
            sa.select(stock.c.sku, stock.c.on_hand).where(
                stock.c.merchant_id == merchant.merchant.id
            )
        )
        return {row.sku: row.on_hand for row in rows}


def test_a_held_write_is_sent_before_the_next_statement(
    container: Container, merchant: NewMerchant
) -> None:
    with held_writes(container) as (connection, statements):
        # given a held insert
        insert_later(connection, stock, shelf(merchant, "MUG"))
        assert statements == []
        # when the transaction reads the table, then it sees the row
        found = connection.execute(
            sa.select(stock.c.on_hand).where(stock.c.merchant_id == merchant.merchant.id)
        ).scalar_one()
        assert found == 1
        assert statements == ["INSERT", "SELECT"]


def test_writes_to_different_tables_leave_as_one_statement_on_postgresql(
    container: Container, merchant: NewMerchant
) -> None:
    with held_writes(container) as (connection, statements):
        insert_later(connection, stock, shelf(merchant, "MUG", "POT", "TEA"))
        update_later(
            connection, merchants, {"timezone": "Europe/Lisbon"}, where={"id": merchant.merchant.id}
        )
        insert_later(connection, stock, shelf(merchant, "CUP"))
        update_later(connection, merchants, {"name": "Renamed"}, where={"id": merchant.merchant.id})
    gathered = {
        "postgresql": ["WITH", "UPDATE"],
        "sqlite": ["INSERT", "UPDATE", "INSERT", "UPDATE"],
    }
    # (the second update of merchants may not share a statement with the first)
    assert statements == gathered[container.engine.dialect.name]
    assert on_hand(container, merchant) == {"MUG": 1, "POT": 1, "TEA": 1, "CUP": 1}
    with container.engine.connect() as connection:
        row = connection.execute(
            sa.select(merchants).where(merchants.c.id == merchant.merchant.id)
        ).one()
    assert (row.timezone, row.name) == ("Europe/Lisbon", "Renamed")


def test_an_update_after_an_insert_into_its_table_sees_the_row(
    container: Container, merchant: NewMerchant
) -> None:
    # (in one statement the update would run on the snapshot before the insert)
    with held_writes(container) as (connection, _):
        insert_later(connection, stock, shelf(merchant, "MUG"))
        update_later(
            connection,
            stock,
            {"on_hand": 5},
            where={"merchant_id": merchant.merchant.id, "sku": "MUG"},
            expect_rows=1,
            mismatch=lambda: Conflict("the row was not there"),
        )
    assert on_hand(container, merchant) == {"MUG": 5}


def test_an_update_that_changes_another_number_of_rows_raises_its_mismatch(
    container: Container, merchant: NewMerchant
) -> None:
    writes = held_writes(container)
    connection, _ = writes.__enter__()
    insert_later(connection, stock, shelf(merchant, "MUG"))
    update_later(
        connection,
        merchants,
        {"name": "Nobody"},
        where={"id": uuid.uuid4()},
        expect_rows=1,
        mismatch=lambda: Conflict("changed concurrently"),
    )
    # when the transaction commits, then the update's row count refuses it
    with pytest.raises(Conflict, match="changed concurrently"):
        writes.__exit__(None, None, None)
    # and nothing of the transaction was kept
    assert on_hand(container, merchant) == {}


def test_a_rollback_drops_what_is_held(container: Container, merchant: NewMerchant) -> None:
    connection, transaction = begin(container.engine, write=True)
    try:
        hold(connection)
        insert_later(connection, stock, shelf(merchant, "MUG"))
        transaction.rollback()
    finally:
        connection.close()
    assert on_hand(container, merchant) == {}


def test_many_rows_leave_in_one_part(container: Container, merchant: NewMerchant) -> None:
    skus = [f"SKU-{number:05}" for number in range(3000)]
    with held_writes(container) as (connection, _):
        insert_later(connection, stock, shelf(merchant, *skus, on_hand=2))
        update_later(connection, merchants, {"name": "Big"}, where={"id": merchant.merchant.id})
    assert on_hand(container, merchant) == dict.fromkeys(skus, 2)


@pytest.mark.postgres
def test_a_text_too_long_for_its_column_is_refused_not_cut(
    postgres_container: Container, merchant_on_postgres: NewMerchant
) -> None:
    # (a cast to the column's varchar(100)[] would have cut it to 100 characters)
    writes = held_writes(postgres_container)
    connection, _ = writes.__enter__()
    insert_later(connection, stock, shelf(merchant_on_postgres, "X" * 101))
    update_later(
        connection, merchants, {"name": "Long"}, where={"id": merchant_on_postgres.merchant.id}
    )
    with pytest.raises(sa.exc.DataError, match="too long"):
        writes.__exit__(None, None, None)


@pytest.fixture
def merchant_on_postgres(postgres_container: Container) -> NewMerchant:
    from refundry.services import transactions
    from refundry.services.handlers.merchants import create_merchant

    return transactions.run(
        postgres_container.uow_factory,
        lambda uow: create_merchant(uow, f"Shop {uuid.uuid4().hex[:6]}"),
    )
