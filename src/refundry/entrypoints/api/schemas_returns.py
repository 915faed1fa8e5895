"""Request and response bodies of the returns endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool

from refundry.domain.refund import RefundStatus
from refundry.domain.returns import ReturnStatus
from refundry.entrypoints.api.fields import (
    MAX_QUANTITY,
    Minor,
    Quantity,
    Reason,
    StrictModel,
    Text,
    Text200,
    WholeNumber,
)
from refundry.entrypoints.api.schemas import (
    BreakdownOut,
    LineIn,
    OrderOut,
    ProviderReference,
    RefundOut,
    ShippingIn,
)

# A JSON number; the domain turns it into basis points and refuses a third decimal.
Percent = Annotated[
    float,
    Field(
        strict=True,
        ge=0,
        le=100,
        description="a percentage, at most two decimals",
        json_schema_extra={"multipleOf": 0.01},
    ),
]
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY), WholeNumber]


class RefundDestination(StrEnum):
    """Where a return's money goes."""

    ORIGINAL = "original"  # the way the customer paid, through the provider
    STORE_CREDIT = "store_credit"  # the customer's store credit, credited at once
    OTHER = "other"  # given back outside Refundry; recorded as not_requested


class ReturnLineIn(StrictModel):
    line_id: uuid.UUID
    quantity: Quantity
    reason: Reason | None = None
    restocking_fee_percent: Percent | None = Field(
        None, description="this line's restocking fee, when it differs from the return's"
    )


class ReturnIn(StrictModel):
    lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=500)]
    requested: StrictBool = Field(
        False, description="true: the customer asked, and the return waits for approval"
    )
    restocking_fee_percent: Percent = Field(
        0, description="kept from the returned units' value when refunded"
    )
    return_shipping_fee: Minor = Field(0, description="a flat amount kept for return shipping")
    note: Reason | None = None


class DeclineIn(StrictModel):
    reason: Text[Annotated[str, Field(min_length=1, max_length=1000)]]


class CancelReturnIn(StrictModel):
    reason: Reason | None = None


class ReceivedLineIn(StrictModel):
    line_id: uuid.UUID
    resellable: Count = Field(0, description="units back on the shelf now")
    damaged: Count = Field(0, description="units that arrived unfit to sell; not restocked")


class ReceiveIn(StrictModel):
    lines: Annotated[list[ReceivedLineIn], Field(min_length=1, max_length=500)]


class ReturnRefundIn(StrictModel):
    destination: RefundDestination = RefundDestination.ORIGINAL
    reason: Reason | None = None
    quote: Text[Annotated[str, Field(max_length=1000)]] | None = Field(
        None, description="from the preview: commit exactly the previewed amounts"
    )


class ExchangeIn(StrictModel):
    """The replacement order: paid by the return's value; a difference in the customer's
    favour is refunded. One in the merchant's favour is owed: the replacement waits for it
    (`pending`: authorize and capture it as for any order), or, with `difference_paid`, the
    checkout took it already the way the original order was paid (`payment_reference`: the
    provider's id of that payment)."""

    lines: Annotated[list[LineIn], Field(min_length=1, max_length=500)]
    shipping: ShippingIn | None = None
    external_id: Text200 | None = None
    difference_paid: StrictBool = False
    payment_reference: ProviderReference | None = None


class ReturnLineOut(BaseModel):
    line_id: uuid.UUID
    sku: str
    name: str
    quantity: int
    reason: str | None
    restocking_fee_percent: float
    resellable: int
    damaged: int
    received: int


class ReturnStatusChangeOut(BaseModel):
    status: ReturnStatus
    at: datetime
    actor: str
    detail: str | None


class ReturnOut(BaseModel):
    kind: Literal["return"] = "return"
    id: uuid.UUID
    order_id: uuid.UUID
    order_external_id: str | None
    customer_email: str
    status: ReturnStatus
    currency: str
    lines: list[ReturnLineOut]
    units: int
    units_received: int
    restocking_fee_percent: float
    return_shipping_fee: int
    note: str | None
    refund_id: uuid.UUID | None
    refunded: int | None = Field(description="what the refund gave back, fees kept")
    fees_kept: int | None
    exchange_order_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    status_history: list[ReturnStatusChangeOut]


class CancelledLineOut(BaseModel):
    line_id: uuid.UUID
    sku: str
    name: str
    quantity: int


class CancellationRecordOut(BaseModel):
    """The refund a cancel made, listed with the returns (seed 001's Sales > Returns)."""

    kind: Literal["cancellation"] = "cancellation"
    id: uuid.UUID = Field(description="the cancellation refund's id (GET /v1/refunds/{id})")
    order_id: uuid.UUID
    order_external_id: str | None
    customer_email: str
    status: RefundStatus
    currency: str
    lines: list[CancelledLineOut]
    units: int
    amount: int
    reason: str | None
    created_by: str
    created_at: datetime


AfterSalesRecordOut = Annotated[ReturnOut | CancellationRecordOut, Field(discriminator="kind")]


class ReturnListOut(BaseModel):
    data: list[ReturnOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page")


class AfterSalesListOut(BaseModel):
    data: list[AfterSalesRecordOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page")


class ReturnRefundPreviewOut(BreakdownOut):
    return_id: uuid.UUID
    order_id: uuid.UUID
    destination: RefundDestination
    refundable_before: int
    refundable_after: int
    quote: str
    quote_expires_at: datetime


class ReturnExchangeOut(BaseModel):
    return_: ReturnOut = Field(alias="return")
    replacement_order: OrderOut
    carried: RefundOut = Field(
        description="the return's refund, carried to the replacement as store credit (spent "
        "by its checkout in the same change)"
    )
    difference_refunded: RefundOut | None = Field(
        description="the return was worth more than the replacement: the rest, refunded"
    )
    difference_owed: int = Field(
        description="the replacement cost more than the return: its money part, which it "
        "waits for (pending) unless difference_paid said the checkout took it"
    )


class ReturnRefundOut(BaseModel):
    return_: ReturnOut = Field(alias="return")
    refund: RefundOut
    order: OrderOut
