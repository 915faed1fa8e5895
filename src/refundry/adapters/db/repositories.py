"""Repositories for merchants, API keys, stock, idempotency keys and instance settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from refundry.adapters.db import tables as t
from refundry.domain.errors import IdempotencyKeyInUse
from refundry.domain.order_parts import AuthorizationExpiryAction
from refundry.services.unit_of_work import Merchant, StockLevel, StoredResponse


def _upsert(connection: sa.Connection, table: sa.Table) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class SqlMerchantRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add(self, merchant: Merchant) -> None:
        self._connection.execute(
            sa.insert(t.merchants).values(
                id=merchant.id,
                name=merchant.name,
                created_at=merchant.created_at,
                timezone=merchant.timezone,
            )
        )

    def get(self, merchant_id: uuid.UUID) -> Merchant | None:
        row = self._connection.execute(
            sa.select(t.merchants).where(t.merchants.c.id == merchant_id)
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
        )

    def set_authorization_expiry_action(
        self, merchant_id: uuid.UUID, action: AuthorizationExpiryAction
    ) -> None:
        self._connection.execute(
            sa.update(t.merchants)
            .where(t.merchants.c.id == merchant_id)
            .values(authorization_expiry_action=action.value)
        )

    def set_automatic_capture(self, merchant_id: uuid.UUID, automatic: bool) -> None:
        self._connection.execute(
            sa.update(t.merchants)
            .where(t.merchants.c.id == merchant_id)
            .values(automatic_capture=automatic)
        )

    def set_timezone(self, merchant_id: uuid.UUID, timezone: str) -> None:
        self._connection.execute(
            sa.update(t.merchants).where(t.merchants.c.id == merchant_id).values(timezone=timezone)
        )

    def add_api_key(
        self, merchant_id: uuid.UUID, key_id: uuid.UUID, secret_hash: str, now: datetime
    ) -> None:
        self._connection.execute(
            sa.insert(t.api_keys).values(
                id=key_id, merchant_id=merchant_id, secret_hash=secret_hash, created_at=now
            )
        )

    def api_key_owner(self, key_id: uuid.UUID) -> tuple[uuid.UUID, str] | None:
        """The merchant and stored hash of an unrevoked key."""
        row = self._connection.execute(
            sa.select(t.api_keys.c.merchant_id, t.api_keys.c.secret_hash).where(
                t.api_keys.c.id == key_id, t.api_keys.c.revoked_at.is_(None)
            )
        ).first()
        return None if row is None else (row.merchant_id, row.secret_hash)


class SqlStockRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def adjust(self, merchant_id: uuid.UUID, sku: str, delta: int, now: datetime) -> None:
        statement = _upsert(self._connection, t.stock_levels).values(
            merchant_id=merchant_id, sku=sku, on_hand=delta, updated_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["merchant_id", "sku"],
            set_={"on_hand": t.stock_levels.c.on_hand + delta, "updated_at": now},
        )
        self._connection.execute(statement)

    def set(self, merchant_id: uuid.UUID, sku: str, on_hand: int, now: datetime) -> None:
        statement = _upsert(self._connection, t.stock_levels).values(
            merchant_id=merchant_id, sku=sku, on_hand=on_hand, updated_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["merchant_id", "sku"],
            set_={"on_hand": on_hand, "updated_at": now},
        )
        self._connection.execute(statement)

    def list(self, merchant_id: uuid.UUID, skus: list[str] | None = None) -> list[StockLevel]:
        query = sa.select(t.stock_levels).where(t.stock_levels.c.merchant_id == merchant_id)
        if skus is not None:
            query = query.where(t.stock_levels.c.sku.in_(skus))
        rows = self._connection.execute(query.order_by(t.stock_levels.c.sku))
        return [StockLevel(row.sku, row.on_hand) for row in rows]


class SqlIdempotencyRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def find(self, merchant_id: uuid.UUID, key: str) -> StoredResponse | None:
        row = self._connection.execute(
            sa.select(t.idempotency_keys).where(
                t.idempotency_keys.c.merchant_id == merchant_id, t.idempotency_keys.c.key == key
            )
        ).first()
        if row is None:
            return None
        return StoredResponse(row.fingerprint, row.status_code, row.body)

    def claim(self, merchant_id: uuid.UUID, key: str, fingerprint: str, now: datetime) -> None:
        """Take the key for this transaction; a concurrent holder makes this raise.

        On PostgreSQL the insert waits for a concurrent transaction holding the same
        key and fails once that one commits: the unique index is the lock.
        """
        savepoint = self._connection.begin_nested()
        try:
            self._connection.execute(
                sa.insert(t.idempotency_keys).values(
                    merchant_id=merchant_id, key=key, fingerprint=fingerprint, created_at=now
                )
            )
        except sa.exc.IntegrityError as error:
            savepoint.rollback()
            raise IdempotencyKeyInUse(
                "another request with this Idempotency-Key is in progress; retry it"
            ) from error
        savepoint.commit()

    def complete(self, merchant_id: uuid.UUID, key: str, status_code: int, body: str) -> None:
        self._connection.execute(
            sa.update(t.idempotency_keys)
            .where(t.idempotency_keys.c.merchant_id == merchant_id, t.idempotency_keys.c.key == key)
            .values(status_code=status_code, body=body)
        )


class SqlSettingsRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def get(self, name: str) -> str | None:
        value: str | None = self._connection.execute(
            sa.select(t.instance_settings.c.value).where(t.instance_settings.c.name == name)
        ).scalar_one_or_none()
        return value

    def put_if_absent(self, name: str, value: str) -> None:
        statement = _upsert(self._connection, t.instance_settings).values(name=name, value=value)
        self._connection.execute(statement.on_conflict_do_nothing(index_elements=["name"]))
