"""The merchant float: open it, top it up, charge float-paid orders, close invoice cycles."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from refundry.domain.errors import FloatNotOpen, InvalidInput, InvoiceNotFound
from refundry.domain.merchant_float import (
    CreditedRefund,
    FloatAccount,
    FloatEntryKind,
    Invoice,
    InvoiceCycle,
)
from refundry.domain.money import Currency, Money
from refundry.domain.order import Order
from refundry.domain.refund import sum_money
from refundry.services.clock import utcnow
from refundry.services.transactions import read, run
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class FloatSummary:
    account: FloatAccount
    pending_credits: list[CreditedRefund]
    cycle_start: datetime
    cycle_end: datetime

    @property
    def pending_total(self) -> Money:
        total = Money.zero(self.account.currency)
        for credit in self.pending_credits:
            total = total + credit.amount
        return total


def open_float(
    uow: UnitOfWork, merchant_id: uuid.UUID, currency_code: str, cycle: InvoiceCycle
) -> FloatSummary:
    """Open the float (once; its currency is fixed) or change its invoice cycle."""
    account = uow.floats.get(merchant_id)
    currency = Currency.of(currency_code)
    if account is None:
        account = FloatAccount(merchant_id, currency, cycle, utcnow(), Money.zero(currency))
        uow.floats.add(account)
    elif account.currency != currency:
        raise InvalidInput(
            f"the float is kept in {account.currency.code}; its currency cannot change"
        )
    elif account.invoice_cycle is not cycle:
        # Takes effect from the next cycle: the open one keeps the length it started with.
        # Cycles that already ended are closed first (as `invoices close` would close
        # them), so the open cycle is the one after the last invoice.
        close_due_cycles(uow, merchant_id, utcnow())
        account.change_cycle(cycle, _open_cycle_start(uow, account))
    return float_summary(uow, merchant_id)


def top_up_float(uow: UnitOfWork, merchant_id: uuid.UUID, amount: int) -> FloatSummary:
    account = _account(uow, merchant_id)
    account.top_up(Money(amount, account.currency), utcnow())
    return float_summary(uow, merchant_id)


def adjust_float(uow: UnitOfWork, merchant_id: uuid.UUID, amount: int, note: str) -> FloatSummary:
    account = _account(uow, merchant_id)
    account.adjust(Money(amount, account.currency), note, utcnow())
    return float_summary(uow, merchant_id)


def charge_order(uow: UnitOfWork, order: Order) -> None:
    """Pay a float-paid order from the float, in full, under the float's lock."""
    if order.payment.captured != order.total:
        raise InvalidInput("a float-paid order is paid in full when it is placed")
    account = _account(uow, order.merchant_id)
    account.charge(order.total, order.id, order.created_at)


def float_summary(uow: UnitOfWork, merchant_id: uuid.UUID) -> FloatSummary:
    account = _account(uow, merchant_id)
    start = _open_cycle_start(uow, account)
    # A close in this transaction has credited these already; the database still
    # says "started" until it commits.
    credited = {entry.refund_id for entry in account.new_entries if entry.refund_id}
    return FloatSummary(
        account=account,
        pending_credits=[
            credit
            for credit in uow.floats.pending_credits(merchant_id)
            if credit.refund_id not in credited
        ],
        cycle_start=start,
        cycle_end=account.cycle_end(start),
    )


def close_due_cycles(uow: UnitOfWork, merchant_id: uuid.UUID, now: datetime) -> list[Invoice]:
    """Close every cycle of this merchant that ended by ``now``, oldest first.

    Each close credits the float refunds made before the cycle's end, completes them,
    and records the statement. Closing again finds nothing due: the invoice exists
    (unique per period) and the credited refunds are no longer pending.
    """
    account = _account(uow, merchant_id)  # locked: concurrent closes queue here
    closed: list[Invoice] = []
    # Read once: the refunds this transaction credits stay "started" in the database
    # until it commits, so a second read would offer them again.
    pending = uow.floats.pending_credits(merchant_id, created_before=now)
    previous = uow.floats.last_invoice(merchant_id)
    while True:
        start = previous.period_end if previous else _open_cycle_start(uow, account)
        end = account.cycle_end(start)
        if end > now:
            return closed
        invoice_id = uuid.uuid4()
        credited = [credit for credit in pending if credit.at < end]
        pending = [credit for credit in pending if credit.at >= end]
        for credit in credited:
            order = uow.orders.get(merchant_id, credit.order_id)
            order.complete_refund(credit.refund_id, now, "credited to the float at invoice close")
            account.credit(
                credit.amount,
                order_id=credit.order_id,
                refund_id=credit.refund_id,
                invoice_id=invoice_id,
                now=now,
            )
        invoice = Invoice(
            id=invoice_id,
            merchant_id=merchant_id,
            currency=account.currency,
            period_start=start,
            period_end=end,
            opening_balance=previous.closing_balance if previous else Money.zero(account.currency),
            top_ups=_total(uow, account, FloatEntryKind.TOP_UP, start, end),
            charges=-_total(uow, account, FloatEntryKind.ORDER_CHARGE, start, end),
            adjustments=_total(uow, account, FloatEntryKind.ADJUSTMENT, start, end),
            credits=sum_money((credit.amount for credit in credited), account.currency),
            closed_at=now,
            credited=tuple(credited),
        )
        uow.floats.add_invoice(invoice)
        closed.append(invoice)
        previous = invoice


def close_all_due_cycles(
    uow_factory: UnitOfWorkFactory, now: datetime
) -> list[tuple[uuid.UUID, Invoice]]:
    """Close the due cycles of every merchant, one transaction per merchant, so one
    merchant's failure leaves the others closed. Safe to run from several processes:
    each close holds its merchant's float lock, and a second finds nothing due."""
    merchants = read(uow_factory, lambda uow: uow.floats.merchants_with_float())
    closed: list[tuple[uuid.UUID, Invoice]] = []
    for merchant_id in merchants:
        invoices = run(uow_factory, partial(close_due_cycles, merchant_id=merchant_id, now=now))
        closed += [(merchant_id, invoice) for invoice in invoices]
    return closed


def list_invoices(uow: UnitOfWork, merchant_id: uuid.UUID) -> list[Invoice]:
    _account(uow, merchant_id)
    return uow.floats.invoices(merchant_id)


def get_invoice(uow: UnitOfWork, merchant_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice:
    invoice = uow.floats.invoice(merchant_id, invoice_id)
    if invoice is None:
        raise InvoiceNotFound(f"no invoice {invoice_id}", invoice_id=str(invoice_id))
    return invoice


def _account(uow: UnitOfWork, merchant_id: uuid.UUID) -> FloatAccount:
    account = uow.floats.get(merchant_id)
    if account is None:
        raise FloatNotOpen("open the float first: PUT /v1/float {currency, invoice_cycle}")
    return account


def _open_cycle_start(uow: UnitOfWork, account: FloatAccount) -> datetime:
    previous = uow.floats.last_invoice(account.merchant_id)
    if previous is not None:
        return previous.period_end
    return account.first_cycle_start()


def _total(
    uow: UnitOfWork, account: FloatAccount, kind: FloatEntryKind, start: datetime, end: datetime
) -> Money:
    return Money(uow.floats.entries_total(account.merchant_id, kind, start, end), account.currency)
