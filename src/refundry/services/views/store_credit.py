"""A customer's store credit as it stands now: per currency, what can be spent (credit
past its expiry never counts, whether or not the sweep has written it off yet), the
ledger's sum, and the newest entries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from refundry.domain.store_credit import StoreCreditAccount, StoreCreditEntry, replay
from refundry.services.clock import utcnow
from refundry.services.ports.read_model import ReadModel


@dataclass(frozen=True, slots=True)
class StoreCreditBalance:
    account_id: uuid.UUID
    currency: str
    available: int  # spendable now
    ledger_balance: int  # the sum of the entries (expired credit not yet written off too)
    next_expiry_at: datetime | None  # when the earliest credit still available expires


@dataclass(frozen=True, slots=True)
class CustomerStoreCredit:
    customer: str
    balances: list[StoreCreditBalance]
    entries: list[tuple[str, StoreCreditEntry]]  # (currency, entry), newest first


def balance_of(account: StoreCreditAccount, as_of: datetime) -> StoreCreditBalance:
    lots = [lot for lot in replay(account.entries).lots if lot.remaining]
    upcoming = [lot.expires_at for lot in lots if lot.expires_at and lot.expires_at > as_of]
    return StoreCreditBalance(
        account.id,
        account.currency.code,
        account.available(as_of).minor,
        account.balance.minor,
        min(upcoming, default=None),
    )


def customer_store_credit(
    read: ReadModel, merchant_id: uuid.UUID, customer: str, limit: int = 100
) -> CustomerStoreCredit:
    """Every currency the customer has store credit in; a stranger has none."""
    now = utcnow()
    accounts = read.store_credit.accounts(merchant_id, customer)
    entries = [(account.currency.code, entry) for account in accounts for entry in account.entries]
    entries.sort(key=lambda pair: (pair[1].created_at, pair[1].sequence), reverse=True)
    return CustomerStoreCredit(
        customer, [balance_of(account, now) for account in accounts], entries[:limit]
    )
