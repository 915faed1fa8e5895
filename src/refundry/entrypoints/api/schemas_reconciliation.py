"""Bodies of the reconciliation API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from refundry.domain.reconciliation import DiscrepancyKind
from refundry.entrypoints.api.fields import (
    SPACE,
    CurrencyCode,
    Instant,
    Minor,
    StrictModel,
    Text,
    Text200,
    WholeNumber,
)

# Not blank at either end (the pattern spells out classes: see fields.SPACE).
TransactionId = Text[
    Annotated[
        str,
        Field(
            min_length=1,
            max_length=255,
            pattern=rf"^[^\x00{SPACE}]([^\x00\n\r\u2028\u2029]*[^\x00{SPACE}])?$",
        ),
    ]
]


class RecordIn(StrictModel):
    transaction_id: TransactionId = Field(description="the points or payment system's id")
    order: Text200 = Field(description="the order's external_id (or its Refundry id)")
    amount: Minor = Field(description="what the order settled, money and points' value")
    currency: CurrencyCode
    points: Annotated[int, Field(strict=True, ge=0, le=10**12), WholeNumber] | None = Field(
        None, description="points the order redeemed, when the system reports them"
    )
    occurred_at: Instant | None = None


class RecordsIn(StrictModel):
    records: Annotated[list[RecordIn], Field(min_length=1, max_length=1000)]


class RecordsImportedOut(BaseModel):
    imported: int = Field(description="records in the request (a repeated one is stored once)")
    stored: int = Field(description="records the merchant has in all")


class RunIn(StrictModel):
    grace_hours: Annotated[float, Field(strict=True, ge=0, le=24 * 365)] | None = Field(
        None,
        description="how long a redeem order may wait for its record before it is reversed "
        "(default: REFUNDRY_RECONCILE_GRACE_HOURS, 24)",
    )


class RunOut(BaseModel):
    records_matched: int
    orders_auto_refunded: list[uuid.UUID]
    discrepancies_found: int = Field(description="new in this run; a rerun finds none")
    discrepancies_resolved: int


class DiscrepancyOut(BaseModel):
    kind: DiscrepancyKind
    transaction_id: str | None
    order_id: uuid.UUID | None
    currency: str | None
    order_amount: int | None
    record_amount: int | None
    order_points: int | None
    record_points: int | None
    action: str | None = Field(description="what Refundry did about it: auto_refunded")
    explanation: str
    found_at: datetime
    resolved_at: datetime | None


class DiscrepancyListOut(BaseModel):
    data: list[DiscrepancyOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page")
