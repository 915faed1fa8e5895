"""The ports the store credit use cases and views read and write through (SQL behind)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from refundry.domain.money import Currency
from refundry.domain.store_credit import StoreCreditAccount


class StoreCreditReads(Protocol):
    def accounts(self, merchant_id: uuid.UUID, customer: str) -> list[StoreCreditAccount]:
        """The customer's accounts, one per currency, each with its whole ledger."""
        ...

    def merchant_accounts(self, merchant_id: uuid.UUID) -> list[StoreCreditAccount]:
        """Every account of the merchant with its ledger (``refundry verify``)."""
        ...


class StoreCreditRepository(StoreCreditReads, Protocol):
    def account(
        self, merchant_id: uuid.UUID, customer: str, currency: Currency, now: datetime
    ) -> StoreCreditAccount:
        """The account, opened if new, locked for this transaction, with its ledger; its new
        entries are written with the unit of work's changes."""
        ...

    def accounts_due(self, as_of: datetime, *, limit: int) -> list[tuple[uuid.UUID, str, Currency]]:
        """Accounts holding credit whose expiry has passed by ``as_of`` (the sweep's)."""
        ...
