"""Repositories for merchants, API keys, stock, idempotency keys and instance settings."""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.engine import conflict_insert, dialect_insert
from refundry.adapters.db.pending_writes import insert_later, update_later
from refundry.adapters.db.tables import merchants as merchant_tables
from refundry.domain.merchant import Merchant
from refundry.domain.order import AuthorizationExpiryAction
from refundry.services.ports.repositories import StockLevel, StoredResponse


# Statements built once (per dialect): SQLAlchemy then finds their compiled SQL in its
# cache at once, where a statement built with its values was hashed on every request.
@functools.cache
def _adjust_stock(dialect: str) -> Any:
    insert = dialect_insert(dialect, merchant_tables.stock_levels)
    return insert.on_conflict_do_update(
        index_elements=["merchant_id", "sku"],
        set_={
            "on_hand": merchant_tables.stock_levels.c.on_hand + insert.excluded.on_hand,
            "updated_at": insert.excluded.updated_at,
        },
    )


@functools.cache
def _claim_key(dialect: str) -> Any:
    insert = dialect_insert(dialect, merchant_tables.idempotency_keys)
    # An INSERT's row count is read only when asked for.
    return insert.on_conflict_do_nothing().execution_options(preserve_rowcount=True)


_KEY_IS = (
    merchant_tables.idempotency_keys.c.merchant_id == sa.bindparam("b_merchant_id"),
    merchant_tables.idempotency_keys.c.key == sa.bindparam("b_key"),
)
_FIND_KEY = sa.select(merchant_tables.idempotency_keys).where(*_KEY_IS)


class SqlMerchantRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, merchant: Merchant) -> None:
        self._connection.execute(
            sa.insert(merchant_tables.merchants).values(
                id=merchant.id,
                name=merchant.name,
                created_at=merchant.created_at,
                timezone=merchant.timezone,
                authorization_expiry_action=merchant.authorization_expiry_action.value,
                automatic_capture=merchant.automatic_capture,
                cancel_labels=json.dumps(list(merchant.cancel_labels)),
                store_credit_validity_days=merchant.store_credit_validity_days,
            )
        )

    def get(self, merchant_id: uuid.UUID) -> Merchant | None:
        row = self._connection.execute(
            sa.select(merchant_tables.merchants).where(
                merchant_tables.merchants.c.id == merchant_id
            )
        ).first()
        if row is None:
            return None
        return Merchant(
            row.id,
            row.name,
            row.created_at,
            row.timezone,
            AuthorizationExpiryAction(row.authorization_expiry_action),
            bool(row.automatic_capture),
            tuple(json.loads(row.cancel_labels)),
            row.store_credit_validity_days,
        )

    def set_authorization_expiry_action(
        self, merchant_id: uuid.UUID, action: AuthorizationExpiryAction
    ) -> None:
        self._connection.execute(
            sa.update(merchant_tables.merchants)
            .where(merchant_tables.merchants.c.id == merchant_id)
            .values(authorization_expiry_action=action.value)
        )

    def set_automatic_capture(self, merchant_id: uuid.UUID, automatic: bool) -> None:
        self._connection.execute(
            sa.update(merchant_tables.merchants)
            .where(merchant_tables.merchants.c.id == merchant_id)
            .values(automatic_capture=automatic)
        )

    def set_store_credit_validity(self, merchant_id: uuid.UUID, days: int | None) -> None:
        self._connection.execute(
            sa.update(merchant_tables.merchants)
            .where(merchant_tables.merchants.c.id == merchant_id)
            .values(store_credit_validity_days=days)
        )

    def set_cancel_labels(self, merchant_id: uuid.UUID, labels: tuple[str, ...]) -> None:
        self._connection.execute(
            sa.update(merchant_tables.merchants)
            .where(merchant_tables.merchants.c.id == merchant_id)
            .values(cancel_labels=json.dumps(list(labels)))
        )

    def set_timezone(self, merchant_id: uuid.UUID, timezone: str) -> None:
        self._connection.execute(
            sa.update(merchant_tables.merchants)
            .where(merchant_tables.merchants.c.id == merchant_id)
            .values(timezone=timezone)
        )

    def add_api_key(
        self, merchant_id: uuid.UUID, key_id: uuid.UUID, secret_hash: str, now: datetime
    ) -> None:
        self._connection.execute(
            sa.insert(merchant_tables.api_keys).values(
                id=key_id, merchant_id=merchant_id, secret_hash=secret_hash, created_at=now
            )
        )

    def api_key_owner(self, key_id: uuid.UUID) -> tuple[uuid.UUID, str] | None:
        """The merchant and stored hash of an unrevoked key."""
        row = self._connection.execute(
            sa.select(
                merchant_tables.api_keys.c.merchant_id, merchant_tables.api_keys.c.secret_hash
            ).where(
                merchant_tables.api_keys.c.id == key_id,
                merchant_tables.api_keys.c.revoked_at.is_(None),
            )
        ).first()
        return None if row is None else (row.merchant_id, row.secret_hash)


class SqlStockRepository:
    """Stock levels. Adjustments are summed per SKU and written by ``flush``, which the unit
    of work calls last before its commit (and every read or set here calls first).

    Every order, cancel and restocking refund of a popular SKU updates that SKU's one row,
    and the row stays locked until the transaction ends: written as the use case asked,
    the lock was held across the rest of the transaction's statements, so a returns wave
    of one product queued on it (most of a partial refund's time on PostgreSQL, found
    with py-spy). Written last, the row is held for one statement and the commit. The
    rows are written in (merchant, SKU) order, so two transactions never lock two SKUs
    in opposite orders, and stock is always the last lock a transaction takes.
    """

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self._pending: dict[tuple[uuid.UUID, str], tuple[int, datetime]] = {}

    def adjust(self, merchant_id: uuid.UUID, sku: str, delta: int, now: datetime) -> None:
        total, _ = self._pending.get((merchant_id, sku), (0, now))
        self._pending[(merchant_id, sku)] = (total + delta, now)

    def flush(self) -> None:
        """Write the pending adjustments: one statement for all of them."""
        if not self._pending:
            return
        rows = [
            {"merchant_id": merchant_id, "sku": sku, "on_hand": delta, "updated_at": now}
            for (merchant_id, sku), (delta, now) in sorted(self._pending.items())
        ]
        self._pending.clear()
        statement = _adjust_stock(self._connection.dialect.name)
        insert_later(self._connection, statement, rows, updates_existing=True)

    def set(self, merchant_id: uuid.UUID, sku: str, on_hand: int, now: datetime) -> None:
        self.flush()
        statement = conflict_insert(self._connection, merchant_tables.stock_levels).values(
            merchant_id=merchant_id, sku=sku, on_hand=on_hand, updated_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["merchant_id", "sku"],
            set_={"on_hand": on_hand, "updated_at": now},
        )
        self._connection.execute(statement)

    def list(self, merchant_id: uuid.UUID, skus: list[str] | None = None) -> list[StockLevel]:
        self.flush()
        query = sa.select(merchant_tables.stock_levels).where(
            merchant_tables.stock_levels.c.merchant_id == merchant_id
        )
        if skus is not None:
            query = query.where(merchant_tables.stock_levels.c.sku.in_(skus))
        rows = self._connection.execute(query.order_by(merchant_tables.stock_levels.c.sku))
        return [StockLevel(row.sku, row.on_hand) for row in rows]


class SqlIdempotencyRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def find(self, merchant_id: uuid.UUID, key: str) -> StoredResponse | None:
        row = self._connection.execute(
            _FIND_KEY, {"b_merchant_id": merchant_id, "b_key": key}
        ).first()
        if row is None:
            return None
        return StoredResponse(row.fingerprint, row.status_code, row.body)

    def claim(self, merchant_id: uuid.UUID, key: str, fingerprint: str, now: datetime) -> bool:
        """Take the key for this transaction: False if another transaction holds it.

        On PostgreSQL the insert waits for a concurrent transaction holding the same
        key and, once that one commits, does nothing: the unique index is the lock.
        """
        row = {
            "merchant_id": merchant_id,
            "key": key,
            "fingerprint": fingerprint,
            "created_at": now,
        }
        result = self._connection.execute(_claim_key(self._connection.dialect.name), row)
        return result.rowcount == 1

    def complete(self, merchant_id: uuid.UUID, key: str, status_code: int, body: str) -> None:
        """Store the response with the key, sent with the change's other writes."""
        update_later(
            self._connection,
            merchant_tables.idempotency_keys,
            {"status_code": status_code, "body": body},
            where={"merchant_id": merchant_id, "key": key},
        )


class SqlSettingsRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def get(self, name: str) -> str | None:
        value: str | None = self._connection.execute(
            sa.select(merchant_tables.instance_settings.c.value).where(
                merchant_tables.instance_settings.c.name == name
            )
        ).scalar_one_or_none()
        return value

    def put_if_absent(self, name: str, value: str) -> None:
        statement = conflict_insert(self._connection, merchant_tables.instance_settings).values(
            name=name, value=value
        )
        self._connection.execute(statement.on_conflict_do_nothing(index_elements=["name"]))
