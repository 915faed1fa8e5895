"""The worker's sweep of expired store credit.

Credit past its expiry already stops counting the moment it expires (what is available is
worked out as of now); the sweep writes the ``expired`` entries, so that every balance
stays the sum of its ledger and reports see the liability fall when it does. A change of
the account writes them too, under the same lock, before it adds its own entry.
"""

from __future__ import annotations

import uuid
from functools import partial

from refundry.domain.money import Currency
from refundry.services.clock import utcnow
from refundry.services.handlers.webhook_publishing import publish_store_credit
from refundry.services.transactions import read, run
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

SWEEP_ACTOR = "system:store-credit-expiry"


def expire_due(uow_factory: UnitOfWorkFactory, *, limit: int = 500) -> int:
    """Write off expired credit, each account in its own short transaction under its
    lock; returns how many accounts had credit written off."""
    now = utcnow()
    due = read(uow_factory, lambda uow: uow.store_credit.accounts_due(now, limit=limit))
    return sum(
        run(uow_factory, partial(_write_off, merchant_id=merchant_id, customer=customer,
                                 currency=currency))
        for merchant_id, customer, currency in due
    )  # fmt: skip


def _write_off(
    uow: UnitOfWork, *, merchant_id: uuid.UUID, customer: str, currency: Currency
) -> bool:
    now = utcnow()
    account = uow.store_credit.account(merchant_id, customer, currency, now)
    entry = account.expire(now)
    if entry is None:
        return False
    publish_store_credit(uow, account, [entry], now, SWEEP_ACTOR)
    return True
