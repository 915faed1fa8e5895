"""Bodies of the store credit API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from refundry.domain.store_credit import MAX_NOTE_LENGTH, StoreCreditEntryKind
from refundry.entrypoints.api.fields import MAX_MINOR, CurrencyCode, StrictModel, Text, WholeNumber


class StoreCreditAdjustmentIn(StrictModel):
    currency: CurrencyCode
    amount: Annotated[int, Field(strict=True, ge=-MAX_MINOR, le=MAX_MINOR), WholeNumber] = Field(
        description="minor units, signed: a grant (positive, expiring as issued store credit "
        "does) or a correction (negative, at most what is available: "
        "`store-credit-insufficient`); never zero"
    )
    note: Text[Annotated[str, Field(min_length=1, max_length=MAX_NOTE_LENGTH)]] = Field(
        description="why: kept on the ledger entry"
    )


class StoreCreditEntryOut(BaseModel):
    id: uuid.UUID
    currency: str
    kind: StoreCreditEntryKind
    amount: int = Field(description="signed: what the entry did to the balance")
    expires_at: datetime | None = Field(description="credits: when they expire (null: never)")
    order_id: uuid.UUID | None
    refund_id: uuid.UUID | None
    note: str | None
    created_at: datetime


class StoreCreditBalanceOut(BaseModel):
    currency: str
    available: int = Field(description="what the customer can spend now, minor units")
    ledger_balance: int = Field(
        description="the sum of the ledger; above available while expired credit waits to be "
        "written off by the worker's sweep"
    )
    next_expiry_at: datetime | None = Field(
        description="when the earliest store credit still available expires"
    )


class CustomerStoreCreditOut(BaseModel):
    customer: str
    balances: list[StoreCreditBalanceOut] = Field(description="one per currency")
    entries: list[StoreCreditEntryOut] = Field(description="newest first, at most 100")


class AdjustmentOut(BaseModel):
    customer: str
    balance: StoreCreditBalanceOut
    entry: StoreCreditEntryOut


class StoreCreditPaymentIn(StrictModel):
    amount: Annotated[int, Field(strict=True, ge=1, le=MAX_MINOR), WholeNumber] = Field(
        description="the part of the order total paid with the customer's store credit in the "
        "order's currency, minor units: positive, at most the total (all of it: method "
        "store_credit) and at most the customer's available store credit "
        "(`store-credit-insufficient`)"
    )


class StoreCreditPaymentOut(BaseModel):
    amount: int = Field(description="the part of captured store credit paid, minor units")
    refunded: int = Field(description="of it, what refunds gave (or will give) back")
    returnable: int = Field(description="what the next refunds give back as store credit first")
