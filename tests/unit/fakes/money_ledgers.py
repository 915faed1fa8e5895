"""The fakes of the two ledgers whose balances are sums of entries: the merchant's
prepaid float (with its invoices) and the customer's points."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from refundry.domain.merchant_float import (
    CreditedRefund,
    FloatAccount,
    FloatEntryKind,
    Invoice,
)
from refundry.domain.money import Money
from refundry.domain.points import PointsEntry, PointsEntryKind, PointsProgram
from refundry.domain.refund import RefundMethod, RefundStatus
from tests.unit.fakes.store import FloatAccountRow, InMemoryStore, StoredPointsEntry


class FakeFloatRepository:
    """Accounts are loaded once per unit of work with their balance summed from the stored
    entries; their new entries and cycle changes are written by ``persist``, which the
    unit of work calls before handing out events and before committing (as the SQL one)."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._seen: dict[uuid.UUID, FloatAccount] = {}

    def get(self, merchant_id: uuid.UUID) -> FloatAccount | None:
        if merchant_id in self._seen:
            return self._seen[merchant_id]
        row = self._store.float_accounts.get(merchant_id)
        if row is None:
            return None
        balance = sum(
            entry.amount.minor for owner, entry in self._store.float_entries if owner == merchant_id
        )
        account = FloatAccount(
            merchant_id=merchant_id,
            currency=row.currency,
            invoice_cycle=row.invoice_cycle,
            created_at=row.created_at,
            balance=Money(balance, row.currency),
            previous_cycle=row.previous_cycle,
            cycle_from=row.cycle_from,
        )
        self._seen[merchant_id] = account
        return account

    def add(self, account: FloatAccount) -> None:
        self._store.float_accounts[account.merchant_id] = _float_row(account)
        self._seen[account.merchant_id] = account

    def merchants_with_float(self) -> list[uuid.UUID]:
        return list(self._store.float_accounts)

    def pending_credits(
        self, merchant_id: uuid.UUID, created_before: datetime | None = None
    ) -> list[CreditedRefund]:
        """Float refunds not yet credited, oldest first."""
        pending = [
            CreditedRefund(order.id, refund.id, refund.amount, refund.created_at)
            for order in self._store.orders.values()
            if order.merchant_id == merchant_id
            for refund in order.refunds
            if refund.method is RefundMethod.FLOAT
            and refund.status is RefundStatus.STARTED
            and (created_before is None or refund.created_at < created_before)
        ]
        return sorted(pending, key=lambda credit: (credit.at, credit.refund_id))

    def entries_total(
        self, merchant_id: uuid.UUID, kind: FloatEntryKind, start: datetime, end: datetime
    ) -> int:
        return sum(
            entry.amount.minor
            for owner, entry in self._store.float_entries
            if owner == merchant_id and entry.kind is kind and start <= entry.created_at < end
        )

    def add_invoice(self, invoice: Invoice) -> None:
        # Stored as its row: what it credited is read back from the entries, as in SQL.
        self._store.invoices.append(replace(invoice, credited=()))

    def last_invoice(self, merchant_id: uuid.UUID) -> Invoice | None:
        invoices = self.invoices(merchant_id, limit=1)
        return invoices[0] if invoices else None

    def invoices(self, merchant_id: uuid.UUID, *, limit: int = 100) -> list[Invoice]:
        mine = [invoice for invoice in self._store.invoices if invoice.merchant_id == merchant_id]
        mine.sort(key=lambda invoice: invoice.period_start, reverse=True)
        return [self._with_credits(invoice) for invoice in mine[:limit]]

    def invoice(self, merchant_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice | None:
        for invoice in self._store.invoices:
            if (invoice.merchant_id, invoice.id) == (merchant_id, invoice_id):
                return self._with_credits(invoice)
        return None

    def persist(self) -> None:
        for account in self._seen.values():
            self._store.float_accounts[account.merchant_id] = _float_row(account)
            self._store.float_entries.extend(
                (account.merchant_id, entry) for entry in account.new_entries
            )
            account.new_entries.clear()

    def _with_credits(self, invoice: Invoice) -> Invoice:
        credits = sorted(
            (entry for _, entry in self._store.float_entries if entry.invoice_id == invoice.id),
            key=lambda entry: (entry.created_at, entry.id),
        )
        credited = tuple(
            CreditedRefund(entry.order_id, entry.refund_id, entry.amount, entry.created_at)
            for entry in credits
            if entry.order_id is not None and entry.refund_id is not None
        )
        return replace(invoice, credited=credited)


def _float_row(account: FloatAccount) -> FloatAccountRow:
    return FloatAccountRow(
        account.merchant_id,
        account.currency,
        account.invoice_cycle,
        account.created_at,
        account.previous_cycle,
        account.cycle_from,
    )


class FakePointsRepository:
    """The program, the accounts and the ledger; a balance is the sum of its entries.
    ``lock_account`` opens the account and takes no lock: units of work run one at a time."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def program(self, merchant_id: uuid.UUID) -> PointsProgram | None:
        return self._store.points_programs.get(merchant_id)

    def set_program(self, merchant_id: uuid.UUID, program: PointsProgram, now: datetime) -> None:
        self._store.points_programs[merchant_id] = program

    def lock_account(self, merchant_id: uuid.UUID, customer: str, now: datetime) -> None:
        self._store.points_accounts.add((merchant_id, customer))

    def balance(self, merchant_id: uuid.UUID, customer: str) -> int:
        return self._store.points_balance(merchant_id, customer)

    def taken_for_order(self, merchant_id: uuid.UUID, order_id: uuid.UUID) -> int:
        """Earned points the order's refunds took off the balance, net of any given back."""
        kinds = (PointsEntryKind.REVERSED, PointsEntryKind.ADJUSTED)
        return -self._net_for_order(merchant_id, order_id, kinds)

    def restored_for_order(self, merchant_id: uuid.UUID, order_id: uuid.UUID) -> int:
        """Redeemed points the order's refunds gave back, net of any taken again."""
        return self._net_for_order(merchant_id, order_id, (PointsEntryKind.RESTORED,))

    def add(self, merchant_id: uuid.UUID, customer: str, entry: PointsEntry) -> None:
        self._store.points_entries.append(StoredPointsEntry(merchant_id, customer, entry))

    def entries(self, merchant_id: uuid.UUID, customer: str, limit: int) -> list[PointsEntry]:
        """Newest first (ties by id), as the SQL query orders them."""
        mine = [
            stored.entry
            for stored in self._store.points_entries
            if (stored.merchant_id, stored.customer) == (merchant_id, customer)
        ]
        mine.sort(key=lambda entry: entry.id)
        mine.sort(key=lambda entry: entry.created_at, reverse=True)
        return mine[:limit]

    def _net_for_order(
        self, merchant_id: uuid.UUID, order_id: uuid.UUID, kinds: tuple[PointsEntryKind, ...]
    ) -> int:
        return sum(
            stored.entry.points
            for stored in self._store.points_entries
            if stored.merchant_id == merchant_id
            and stored.entry.order_id == order_id
            and stored.entry.kind in kinds
        )
