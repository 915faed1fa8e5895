"""The merchant float and its invoices. The balance is summed from the ledger on load."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from refundry.adapters.db.order_rows import utc
from refundry.adapters.db.tables import ledgers as ledger_tables
from refundry.adapters.db.tables import orders as order_tables
from refundry.domain.merchant_float import (
    CreditedRefund,
    FloatAccount,
    FloatEntryKind,
    Invoice,
    InvoiceCycle,
)
from refundry.domain.money import Currency, Money
from refundry.domain.refund import RefundMethod, RefundStatus

_Cycles = dict[str, str | datetime | None]  # float_accounts' cycle columns


class SqlFloatRepository:
    def __init__(self, connection: sa.Connection, *, lock_rows: bool) -> None:
        self._connection = connection
        self._lock_rows = lock_rows
        self._seen: dict[uuid.UUID, FloatAccount] = {}
        self._stored_cycles: dict[uuid.UUID, _Cycles] = {}

    def get(self, merchant_id: uuid.UUID) -> FloatAccount | None:
        """The account, locked for the transaction when writing: charges and closes queue.

        Loaded once per unit of work, so entries not yet written still count."""
        if merchant_id in self._seen:
            return self._seen[merchant_id]
        query = sa.select(ledger_tables.float_accounts).where(
            ledger_tables.float_accounts.c.merchant_id == merchant_id
        )
        if self._lock_rows:
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        if row is None:
            return None
        currency = Currency.of(row.currency)
        balance = self._connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(ledger_tables.float_entries.c.amount), 0)).where(
                ledger_tables.float_entries.c.merchant_id == merchant_id
            )
        ).scalar_one()
        account = FloatAccount(
            merchant_id=merchant_id,
            currency=currency,
            invoice_cycle=InvoiceCycle(row.invoice_cycle),
            created_at=utc(row.created_at),
            balance=Money(int(balance), currency),
            previous_cycle=(
                InvoiceCycle(row.previous_invoice_cycle) if row.previous_invoice_cycle else None
            ),
            cycle_from=utc(row.invoice_cycle_from) if row.invoice_cycle_from else None,
        )
        self._seen[merchant_id] = account
        self._stored_cycles[merchant_id] = _cycles(account)
        return account

    def add(self, account: FloatAccount) -> None:
        self._connection.execute(
            sa.insert(ledger_tables.float_accounts).values(
                merchant_id=account.merchant_id,
                currency=account.currency.code,
                created_at=account.created_at,
                **_cycles(account),
            )
        )
        self._seen[account.merchant_id] = account
        self._stored_cycles[account.merchant_id] = _cycles(account)

    def merchants_with_float(self) -> list[uuid.UUID]:
        return list(
            self._connection.execute(
                sa.select(ledger_tables.float_accounts.c.merchant_id)
            ).scalars()
        )

    def pending_credits(
        self, merchant_id: uuid.UUID, created_before: datetime | None = None
    ) -> list[CreditedRefund]:
        """Float refunds not yet credited, oldest first."""
        query = sa.select(
            order_tables.refunds.c.order_id,
            order_tables.refunds.c.id,
            order_tables.refunds.c.amount,
            order_tables.refunds.c.currency,
            order_tables.refunds.c.created_at,
        ).where(
            order_tables.refunds.c.merchant_id == merchant_id,
            order_tables.refunds.c.method == RefundMethod.FLOAT.value,
            order_tables.refunds.c.status == RefundStatus.STARTED.value,
        )
        if created_before is not None:
            query = query.where(order_tables.refunds.c.created_at < created_before)
        rows = self._connection.execute(
            query.order_by(order_tables.refunds.c.created_at, order_tables.refunds.c.id)
        )
        return [
            CreditedRefund(
                row.order_id,
                row.id,
                Money(row.amount, Currency.of(row.currency)),
                utc(row.created_at),
            )
            for row in rows
        ]

    def entries_total(
        self, merchant_id: uuid.UUID, kind: FloatEntryKind, start: datetime, end: datetime
    ) -> int:
        total = self._connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(ledger_tables.float_entries.c.amount), 0)).where(
                ledger_tables.float_entries.c.merchant_id == merchant_id,
                ledger_tables.float_entries.c.kind == kind.value,
                ledger_tables.float_entries.c.created_at >= start,
                ledger_tables.float_entries.c.created_at < end,
            )
        ).scalar_one()
        return int(total)

    def persist(self) -> None:
        for account in self._seen.values():
            cycles = _cycles(account)
            if cycles != self._stored_cycles.get(account.merchant_id):
                self._connection.execute(
                    sa.update(ledger_tables.float_accounts)
                    .where(ledger_tables.float_accounts.c.merchant_id == account.merchant_id)
                    .values(**cycles)
                )
                self._stored_cycles[account.merchant_id] = cycles
            if account.new_entries:
                self._connection.execute(
                    sa.insert(ledger_tables.float_entries),
                    [
                        {
                            "id": entry.id,
                            "merchant_id": account.merchant_id,
                            "kind": entry.kind.value,
                            "amount": entry.amount.minor,
                            "created_at": entry.created_at,
                            "order_id": entry.order_id,
                            "refund_id": entry.refund_id,
                            "invoice_id": entry.invoice_id,
                            "note": entry.note,
                        }
                        for entry in account.new_entries
                    ],
                )
                account.new_entries.clear()

    # ---------------------------------------------------------------- invoices
    def add_invoice(self, invoice: Invoice) -> None:
        self._connection.execute(
            sa.insert(ledger_tables.invoices).values(
                id=invoice.id,
                merchant_id=invoice.merchant_id,
                currency=invoice.currency.code,
                period_start=invoice.period_start,
                period_end=invoice.period_end,
                opening_balance=invoice.opening_balance.minor,
                top_ups=invoice.top_ups.minor,
                charges=invoice.charges.minor,
                adjustments=invoice.adjustments.minor,
                credits=invoice.credits.minor,
                closing_balance=invoice.closing_balance.minor,
                closed_at=invoice.closed_at,
            )
        )

    def last_invoice(self, merchant_id: uuid.UUID) -> Invoice | None:
        invoices = self.invoices(merchant_id, limit=1)
        return invoices[0] if invoices else None

    def invoices(self, merchant_id: uuid.UUID, *, limit: int = 100) -> list[Invoice]:
        rows = self._connection.execute(
            sa.select(ledger_tables.invoices)
            .where(ledger_tables.invoices.c.merchant_id == merchant_id)
            .order_by(ledger_tables.invoices.c.period_start.desc())
            .limit(limit)
        ).mappings()
        return [self._invoice(row, self._credited(row["id"], row["currency"])) for row in rows]

    def invoice(self, merchant_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice | None:
        row = (
            self._connection.execute(
                sa.select(ledger_tables.invoices).where(
                    ledger_tables.invoices.c.merchant_id == merchant_id,
                    ledger_tables.invoices.c.id == invoice_id,
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return self._invoice(row, self._credited(invoice_id, row["currency"]))

    def _credited(self, invoice_id: uuid.UUID, currency_code: str) -> tuple[CreditedRefund, ...]:
        currency = Currency.of(currency_code)
        credits = self._connection.execute(
            sa.select(
                ledger_tables.float_entries.c.order_id,
                ledger_tables.float_entries.c.refund_id,
                ledger_tables.float_entries.c.amount,
                ledger_tables.float_entries.c.created_at,
            )
            .where(ledger_tables.float_entries.c.invoice_id == invoice_id)
            .order_by(ledger_tables.float_entries.c.created_at, ledger_tables.float_entries.c.id)
        )
        return tuple(
            CreditedRefund(c.order_id, c.refund_id, Money(c.amount, currency), utc(c.created_at))
            for c in credits
        )

    @staticmethod
    def _invoice(row: sa.RowMapping, credited: tuple[CreditedRefund, ...]) -> Invoice:
        currency = Currency.of(row["currency"])
        return Invoice(
            id=row["id"],
            merchant_id=row["merchant_id"],
            currency=currency,
            period_start=utc(row["period_start"]),
            period_end=utc(row["period_end"]),
            opening_balance=Money(row["opening_balance"], currency),
            top_ups=Money(row["top_ups"], currency),
            charges=Money(row["charges"], currency),
            adjustments=Money(row["adjustments"], currency),
            credits=Money(row["credits"], currency),
            closed_at=utc(row["closed_at"]),
            credited=credited,
        )


def _cycles(account: FloatAccount) -> _Cycles:
    """The account's cycle settings, as float_accounts columns."""
    return {
        "invoice_cycle": account.invoice_cycle.value,
        "previous_invoice_cycle": account.previous_cycle.value if account.previous_cycle else None,
        "invoice_cycle_from": account.cycle_from,
    }
