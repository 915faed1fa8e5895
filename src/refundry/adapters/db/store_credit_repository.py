"""Customers' store credit accounts (the locks) and the store credit ledger."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.engine import conflict_insert
from refundry.adapters.db.order_rows import aware, utc
from refundry.adapters.db.tables import ledgers as ledger_tables
from refundry.domain.money import Currency
from refundry.domain.store_credit import (
    StoreCreditAccount,
    StoreCreditEntry,
    StoreCreditEntryKind,
    replay,
)

acc = ledger_tables.store_credit_accounts
en = ledger_tables.store_credit_entries
AccountKey = tuple[uuid.UUID, str, str]


class SqlStoreCreditRepository:
    def __init__(self, connection: sa.Connection, *, lock_rows: bool) -> None:
        self._connection = connection
        self._lock_rows = lock_rows
        self._seen: dict[AccountKey, StoreCreditAccount] = {}

    def account(
        self, merchant_id: uuid.UUID, customer: str, currency: Currency, now: datetime
    ) -> StoreCreditAccount:
        key = (merchant_id, customer, currency.code)
        if key in self._seen:
            return self._seen[key]
        self._connection.execute(
            conflict_insert(self._connection, acc)
            .values(
                merchant_id=merchant_id,
                customer=customer,
                currency=currency.code,
                id=uuid.uuid4(),
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["merchant_id", "customer", "currency"])
        )
        query = sa.select(acc.c.id).where(*_is_account(merchant_id, customer, currency.code))
        if self._lock_rows and self._connection.dialect.name == "postgresql":
            query = query.with_for_update()
        account_id = self._connection.execute(query).scalar_one()
        entries = self._connection.execute(
            sa.select(en)
            .where(
                en.c.merchant_id == merchant_id,
                en.c.customer == customer,
                en.c.currency == currency.code,
            )
            .order_by(en.c.sequence)
        ).mappings()
        account = StoreCreditAccount(
            account_id, merchant_id, customer, currency, [_entry(row) for row in entries]
        )
        self._seen[key] = account
        return account

    def accounts_due(self, as_of: datetime, *, limit: int) -> list[tuple[uuid.UUID, str, Currency]]:
        rows = self._connection.execute(
            sa.select(acc.c.merchant_id, acc.c.customer, acc.c.currency)
            .where(acc.c.next_expiry_at <= as_of)
            .order_by(acc.c.next_expiry_at)
            .limit(limit)
        )
        return [(row.merchant_id, row.customer, Currency.of(row.currency)) for row in rows]

    def accounts(self, merchant_id: uuid.UUID, customer: str) -> list[StoreCreditAccount]:
        return self._load(
            sa.and_(acc.c.merchant_id == merchant_id, acc.c.customer == customer),
            sa.and_(en.c.merchant_id == merchant_id, en.c.customer == customer),
        )

    def merchant_accounts(self, merchant_id: uuid.UUID) -> list[StoreCreditAccount]:
        return self._load(acc.c.merchant_id == merchant_id, en.c.merchant_id == merchant_id)

    def persist(self) -> None:
        """Write the new entries of the accounts this unit of work changed."""
        for (merchant_id, customer, code), account in self._seen.items():
            if not account.new_entries:
                continue
            self._connection.execute(
                sa.insert(en),
                [_row(account, entry) for entry in account.new_entries],
            )
            account.new_entries.clear()
            self._connection.execute(
                sa.update(acc)
                .where(*_is_account(merchant_id, customer, code))
                .values(next_expiry_at=replay(account.entries).next_expiry)
            )

    def _load(self, accounts_where: Any, entries_where: Any) -> list[StoreCreditAccount]:
        account_rows = self._connection.execute(
            sa.select(acc)
            .where(accounts_where)
            .order_by(acc.c.merchant_id, acc.c.customer, acc.c.currency)
        ).mappings()
        entries: dict[AccountKey, list[StoreCreditEntry]] = {}
        for row in self._connection.execute(
            sa.select(en).where(entries_where).order_by(en.c.sequence)
        ).mappings():
            key = (row["merchant_id"], row["customer"], row["currency"])
            entries.setdefault(key, []).append(_entry(row))
        return [
            StoreCreditAccount(
                row["id"],
                row["merchant_id"],
                row["customer"],
                Currency.of(row["currency"]),
                entries.get((row["merchant_id"], row["customer"], row["currency"]), []),
            )
            for row in account_rows
        ]


def _is_account(merchant_id: uuid.UUID, customer: str, code: str) -> Sequence[Any]:
    return (acc.c.merchant_id == merchant_id, acc.c.customer == customer, acc.c.currency == code)


def _entry(row: Mapping[Any, Any]) -> StoreCreditEntry:
    return StoreCreditEntry(
        id=row["id"],
        kind=StoreCreditEntryKind(row["kind"]),
        amount=row["amount"],
        sequence=row["sequence"],
        created_at=utc(row["created_at"]),
        expires_at=aware(row["expires_at"]),
        order_id=row["order_id"],
        refund_id=row["refund_id"],
        note=row["note"],
    )


def _row(account: StoreCreditAccount, entry: StoreCreditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "merchant_id": account.merchant_id,
        "customer": account.customer,
        "currency": account.currency.code,
        "sequence": entry.sequence,
        "kind": entry.kind.value,
        "amount": entry.amount,
        "expires_at": entry.expires_at,
        "order_id": entry.order_id,
        "refund_id": entry.refund_id,
        "note": entry.note,
        "created_at": entry.created_at,
    }
