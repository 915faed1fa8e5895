"""Store credit use cases: spending it at checkout, crediting what refunds give back,
and support agents' adjustments (the worker's sweep of expired credit is
``store_credit_expiry``).

Every change loads the customer's account in the order's (or the request's) currency
under its row lock, with its ledger; the account's rules (``domain/store_credit.py``)
write off expired credit first, then add the change's entry, refusing to take more than
is available. The entries are written with the unit of work's changes, and each change
of an account sends one ``store_credit.updated`` webhook, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from refundry.domain.errors import InvalidInput
from refundry.domain.events import StoreCreditIssued
from refundry.domain.money import Currency, Money
from refundry.domain.order import Order
from refundry.domain.store_credit import StoreCreditAccount, StoreCreditEntry
from refundry.services.clock import utcnow
from refundry.services.handlers.points import customer_key
from refundry.services.handlers.webhook_publishing import publish_store_credit
from refundry.services.unit_of_work import RecordedEvent, UnitOfWork


def spend_at_checkout(uow: UnitOfWork, order: Order, actor: str, now: datetime) -> None:
    """A new order pays ``payment.store_credit`` with the customer's store credit: taken
    under the account's lock, so two checkouts cannot spend the same credit, and refused
    (``store-credit-insufficient``, nothing written) beyond what is available."""
    spent = order.payment.store_credit
    if spent is None:
        return
    account = uow.store_credit.account(order.merchant_id, customer_key(order), order.currency, now)
    written = len(account.entries)
    account.spend(spent, now, order_id=order.id)
    publish_store_credit(uow, account, account.entries[written:], now, actor)


def record_store_credit(uow: UnitOfWork, recorded: Sequence[RecordedEvent], now: datetime) -> None:
    """Credit what this change's refunds gave back as store credit (the message bus's
    handler for ``StoreCreditIssued``, run before the commit). A refund is credited once."""
    changed: dict[uuid.UUID, tuple[StoreCreditAccount, int, str]] = {}
    validity: dict[uuid.UUID, int | None] = {}
    for order, event in recorded:
        if not isinstance(event, StoreCreditIssued):
            continue
        if order.merchant_id not in validity:
            merchant = uow.merchants.get(order.merchant_id)
            validity[order.merchant_id] = (
                None if merchant is None else merchant.store_credit_validity_days
            )
        account = uow.store_credit.account(
            order.merchant_id, customer_key(order), order.currency, now
        )
        if account.id not in changed:
            actor = order.refund_by_id(event.refund_id).created_by
            changed[account.id] = (account, len(account.entries), actor)
        account.issue(
            Money(event.amount, order.currency),
            now,
            validity_days=validity[order.merchant_id],
            order_id=order.id,
            refund_id=event.refund_id,
        )
    for account, written, actor in changed.values():
        publish_store_credit(uow, account, account.entries[written:], now, actor)


def credit_at_once(uow: UnitOfWork, order: Order, now: datetime) -> None:
    """Credit now what the order's refunds of this change give back as store credit, for a
    checkout in the same change to spend (an exchange). The bus's handler, run again at
    the commit, finds each refund credited already and writes nothing more."""
    issued = [(order, event) for event in order.events if isinstance(event, StoreCreditIssued)]
    record_store_credit(uow, issued, now)


def adjust(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    customer: str,
    currency_code: str,
    amount: int,
    note: str,
    actor: str,
) -> tuple[StoreCreditAccount, StoreCreditEntry]:
    """A support agent's grant (positive) or correction (negative, never below zero)."""
    now = utcnow()
    currency = Currency.of(currency_code)
    merchant = uow.merchants.get(merchant_id)
    days = None if merchant is None else merchant.store_credit_validity_days
    if not customer.strip():
        # A key no checkout can ever name: credit granted to it could never be spent.
        raise InvalidInput("name the customer: their external id, or their e-mail")
    # The key as given, as GET .../store-credit reads it and a checkout's order makes it.
    account = uow.store_credit.account(merchant_id, customer, currency, now)
    written = len(account.entries)
    entry = account.adjust(Money(amount, currency), now, note=note, validity_days=days)
    publish_store_credit(uow, account, account.entries[written:], now, actor)
    return account, entry
