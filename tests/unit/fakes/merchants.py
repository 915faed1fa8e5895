"""The fakes of the merchant's small tables: the merchant and its API keys, stock
levels, idempotency keys, instance settings, and the provider events seen already."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from refundry.domain.merchant import Merchant
from refundry.domain.order import AuthorizationExpiryAction
from refundry.services.ports.repositories import StockLevel, StoredResponse
from tests.unit.fakes.store import InMemoryStore


class FakeMerchantRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def add(self, merchant: Merchant) -> None:
        self._store.merchants[merchant.id] = merchant

    def get(self, merchant_id: uuid.UUID) -> Merchant | None:
        return self._store.merchants.get(merchant_id)

    def set_timezone(self, merchant_id: uuid.UUID, timezone: str) -> None:
        self._change(merchant_id, timezone=timezone)

    def set_authorization_expiry_action(
        self, merchant_id: uuid.UUID, action: AuthorizationExpiryAction
    ) -> None:
        self._change(merchant_id, authorization_expiry_action=action)

    def set_automatic_capture(self, merchant_id: uuid.UUID, automatic: bool) -> None:
        self._change(merchant_id, automatic_capture=automatic)

    def set_cancel_labels(self, merchant_id: uuid.UUID, labels: tuple[str, ...]) -> None:
        self._change(merchant_id, cancel_labels=labels)

    def set_store_credit_validity(self, merchant_id: uuid.UUID, days: int | None) -> None:
        self._change(merchant_id, store_credit_validity_days=days)

    def add_api_key(
        self, merchant_id: uuid.UUID, key_id: uuid.UUID, secret_hash: str, now: datetime
    ) -> None:
        self._store.api_keys[key_id] = (merchant_id, secret_hash)

    def api_key_owner(self, key_id: uuid.UUID) -> tuple[uuid.UUID, str] | None:
        return self._store.api_keys.get(key_id)

    def _change(self, merchant_id: uuid.UUID, **changes: Any) -> None:
        merchant = self._store.merchants.get(merchant_id)
        if merchant is not None:  # an UPDATE of no row changes nothing
            self._store.merchants[merchant_id] = replace(merchant, **changes)


class FakeStockRepository:
    """Levels per (merchant, SKU); adjusting an unknown SKU starts it from zero."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def adjust(self, merchant_id: uuid.UUID, sku: str, delta: int, now: datetime) -> None:
        self._store.stock[(merchant_id, sku)] = self._store.on_hand(merchant_id, sku) + delta

    def set(self, merchant_id: uuid.UUID, sku: str, on_hand: int, now: datetime) -> None:
        self._store.stock[(merchant_id, sku)] = on_hand

    def list(self, merchant_id: uuid.UUID, skus: list[str] | None = None) -> list[StockLevel]:
        return [
            StockLevel(sku, on_hand)
            for (owner, sku), on_hand in sorted(self._store.stock.items())
            if owner == merchant_id and (skus is None or sku in skus)
        ]


class FakeIdempotencyRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def find(self, merchant_id: uuid.UUID, key: str) -> StoredResponse | None:
        return self._store.idempotency.get((merchant_id, key))

    def claim(self, merchant_id: uuid.UUID, key: str, fingerprint: str, now: datetime) -> bool:
        if (merchant_id, key) in self._store.idempotency:
            return False
        self._store.idempotency[(merchant_id, key)] = StoredResponse(fingerprint, None, None)
        return True

    def complete(self, merchant_id: uuid.UUID, key: str, status_code: int, body: str) -> None:
        claimed = self._store.idempotency[(merchant_id, key)]
        self._store.idempotency[(merchant_id, key)] = replace(
            claimed, status_code=status_code, body=body
        )


class FakeSettingsRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def get(self, name: str) -> str | None:
        return self._store.settings.get(name)

    def put_if_absent(self, name: str, value: str) -> None:
        self._store.settings.setdefault(name, value)


class FakeProviderEventRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def add_once(
        self,
        *,
        provider: str,
        event_id: str,
        event_type: str,
        merchant_id: uuid.UUID | None,
        order_id: uuid.UUID | None,
        payload: str,
        now: datetime,
    ) -> bool:
        if (provider, event_id) in self._store.provider_events:
            return False
        self._store.provider_events.add((provider, event_id))
        return True
