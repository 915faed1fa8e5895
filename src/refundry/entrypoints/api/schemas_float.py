"""Request and response bodies of the merchant float and its invoice statements."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from refundry.domain.merchant_float import InvoiceCycle
from refundry.entrypoints.api.fields import MAX_MINOR, CurrencyCode, StrictModel, Text, WholeNumber


class FloatIn(StrictModel):
    currency: CurrencyCode
    invoice_cycle: InvoiceCycle = InvoiceCycle.MONTHLY


class TopUpIn(StrictModel):
    amount: Annotated[int, Field(strict=True, ge=1, le=MAX_MINOR), WholeNumber]


class FloatAdjustmentIn(StrictModel):
    amount: Annotated[
        int,
        Field(strict=True, ge=-MAX_MINOR, le=MAX_MINOR, description="signed; not zero"),
        WholeNumber,
    ]
    note: Text[Annotated[str, Field(min_length=1, max_length=500)]]


class PendingCreditOut(BaseModel):
    order_id: uuid.UUID
    refund_id: uuid.UUID
    amount: int


class FloatOut(BaseModel):
    currency: str
    balance: int
    invoice_cycle: InvoiceCycle
    cycle_start: datetime
    cycle_end: datetime
    pending_credits: int = Field(description="credited to the float when the cycle closes")
    pending: list[PendingCreditOut]


class InvoiceOut(BaseModel):
    id: uuid.UUID
    currency: str
    period_start: datetime
    period_end: datetime
    opening_balance: int
    top_ups: int
    charges: int
    adjustments: int
    credits: int
    closing_balance: int
    closed_at: datetime
    credited: list[PendingCreditOut]


class InvoiceListOut(BaseModel):
    data: list[InvoiceOut]
