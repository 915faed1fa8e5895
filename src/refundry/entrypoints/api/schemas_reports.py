"""Request and response bodies of the merchant's settings and the reports."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from refundry.domain.order import AuthorizationExpiryAction
from refundry.domain.reporting import Granularity
from refundry.domain.store_credit import MAX_VALIDITY_DAYS
from refundry.entrypoints.api.fields import StrictModel, Text, WholeNumber


class MerchantIn(StrictModel):
    timezone: (
        Text[Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/Helsinki"])]]
        | None
    ) = None
    authorization_expiry_action: AuthorizationExpiryAction | None = Field(
        None,
        description="what the authorization watch does with an unfulfilled order whose hold "
        "is about to lapse: flag it, or void (cancel) it",
    )
    automatic_capture: StrictBool | None = Field(
        None,
        description="capture payments at once (default), or hold them and capture on "
        "fulfilment; applies to orders that do not say",
    )
    cancel_labels: list[Text[Annotated[str, Field(min_length=1, max_length=200)]]] | None = Field(
        None,
        max_length=20,
        description="the merchant's own statuses after cancellation, offered beside "
        '"cancelled" (replaces the list; [] leaves only "cancelled"): at most 20, each 1-64 '
        "characters once trimmed, no control characters, unique ignoring case, and none an "
        "order status such as paid or cancelled (`invalid-cancel-labels`)",
        examples=[["Refused", "Out of stock"]],
    )
    store_credit_validity_days: (
        Annotated[int, Field(strict=True, ge=1, le=MAX_VALIDITY_DAYS), WholeNumber] | None
    ) = Field(
        None,
        description="how many days store credit issued from now on stays spendable; null: it "
        "never expires (the default). Omit to leave it as it is",
    )


class MerchantOut(BaseModel):
    id: uuid.UUID
    name: str
    timezone: str
    authorization_expiry_action: AuthorizationExpiryAction
    automatic_capture: bool
    cancel_labels: list[str] = Field(
        description='the statuses a cancel may take besides "cancelled"'
    )
    store_credit_validity_days: int | None = Field(
        description="how long store credit issued now stays spendable (null: never expires)"
    )


class ReportRangeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_day: date = Field(alias="from")
    to_day: date = Field(alias="to")
    timezone: str


class RefundReportRowOut(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    external_id: str | None
    customer_email: str
    items: str
    currency: str
    amount: int
    tax: int
    shipping: int
    kind: str
    method: str
    status: str
    reason: str | None
    created_by: str
    created_at: datetime
    completed_at: datetime | None


class RefundsReportOut(ReportRangeOut):
    total: int
    limit: int
    offset: int
    data: list[RefundReportRowOut]


class SummaryRowOut(BaseModel):
    period: date
    currency: str
    orders: int
    gross_sales: int
    discounts: int
    tax: int
    shipping: int
    cancellations: int
    cancellation_count: int
    refunds: int
    refund_count: int
    refunded_sales: int
    refunded_tax: int
    refunded_shipping: int
    net_sales: int
    store_credit_issued: int = Field(description="store credit refunds credited in the period")
    store_credit_spent: int = Field(description="store credit checkouts spent in the period")
    store_credit_outstanding: int = Field(
        description="store credit owed to customers at the period's end (a liability); in "
        "totals, at the end of the range"
    )
    returns: int = Field(description="returns created in the period")
    units_returned: int = Field(
        description="units those returns received so far (resellable or damaged)"
    )
    fees_kept: int = Field(
        description="restocking and return-shipping fees of refunds settled in the period"
    )


class SummaryReportOut(ReportRangeOut):
    period: Granularity
    data: list[SummaryRowOut]
    totals: list[SummaryRowOut]


class ItemRowOut(BaseModel):
    sku: str
    currency: str
    units_sold: int
    units_cancelled: int
    units_refunded: int
    gross: int
    discounts: int
    refunds: int
    net: int
    units_returned: int = Field(description="units received by returns created in the range")


class ItemsReportOut(ReportRangeOut):
    data: list[ItemRowOut]


class ReasonRowOut(BaseModel):
    reason: str
    kind: str
    currency: str
    count: int
    amount: int


class ReasonsReportOut(ReportRangeOut):
    data: list[ReasonRowOut]


class KpiOut(BaseModel):
    currency: str
    orders: int
    gross_sales: int
    refunded_sales: int
    net_sales: int
    refunds: int


class SeriesPointOut(BaseModel):
    day: date
    currency: str
    sales: int
    refunds: int
    net: int


class DashboardOut(BaseModel):
    today: date
    timezone: str
    kpis: dict[str, list[KpiOut]]
    series: list[SeriesPointOut]
