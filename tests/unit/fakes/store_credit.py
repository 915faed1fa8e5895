"""The fake of the store credit ledger: accounts (one per customer and currency) and
their entries, a balance being the sum of its entries."""

from __future__ import annotations

import uuid
from datetime import datetime

from refundry.domain.money import Currency
from refundry.domain.store_credit import StoreCreditAccount, replay
from tests.unit.fakes.store import InMemoryStore, StoreCreditAccountRow


class FakeStoreCreditRepository:
    """``account`` opens the account and takes no lock (units of work run one at a time);
    the new entries are written by ``persist``, as the SQL repository writes them."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._seen: dict[tuple[uuid.UUID, str, str], StoreCreditAccount] = {}

    def account(
        self, merchant_id: uuid.UUID, customer: str, currency: Currency, now: datetime
    ) -> StoreCreditAccount:
        key = (merchant_id, customer, currency.code)
        if key not in self._seen:
            row = self._store.store_credit_accounts.setdefault(
                key, StoreCreditAccountRow(uuid.uuid4(), now)
            )
            self._seen[key] = self._loaded(key, row)
        return self._seen[key]

    def accounts_due(self, as_of: datetime, *, limit: int) -> list[tuple[uuid.UUID, str, Currency]]:
        due = sorted(
            (row.next_expiry_at, key)
            for key, row in self._store.store_credit_accounts.items()
            if row.next_expiry_at is not None and row.next_expiry_at <= as_of
        )
        return [(key[0], key[1], Currency.of(key[2])) for _, key in due[:limit]]

    def accounts(self, merchant_id: uuid.UUID, customer: str) -> list[StoreCreditAccount]:
        return [
            self._loaded(key, row)
            for key, row in sorted(self._store.store_credit_accounts.items())
            if key[:2] == (merchant_id, customer)
        ]

    def merchant_accounts(self, merchant_id: uuid.UUID) -> list[StoreCreditAccount]:
        return [
            self._loaded(key, row)
            for key, row in sorted(self._store.store_credit_accounts.items())
            if key[0] == merchant_id
        ]

    def persist(self) -> None:
        for key, account in self._seen.items():
            if account.new_entries:
                self._store.store_credit_entries.setdefault(key, []).extend(account.new_entries)
                account.new_entries.clear()
                row = self._store.store_credit_accounts[key]
                row.next_expiry_at = replay(account.entries).next_expiry

    def _loaded(
        self, key: tuple[uuid.UUID, str, str], row: StoreCreditAccountRow
    ) -> StoreCreditAccount:
        return StoreCreditAccount(
            row.id, key[0], key[1], Currency.of(key[2]),
            list(self._store.store_credit_entries.get(key, [])),
        )  # fmt: skip
