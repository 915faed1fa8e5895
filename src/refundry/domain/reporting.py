"""Report vocabulary: date ranges in the merchant's time zone, periods, and the figures.

Definitions (docs/reports.md says the same for merchants):

- An order counts as a sale on the day it was placed, once money was captured for it.
- A refund counts on the day it settled: ``completed`` (by the provider, or credited to the
  float) or ``not_requested`` (returned by other means, recorded by the merchant: the help
  pages promise the reports take it into account whatever the method). Started, processing
  and failed refunds are listed, never subtracted.
- ``refunded_sales`` is the part of settled refunds that reverses sales: refunded line
  subtotals, less their share of discounts, plus goodwill and adjustments, less the fees a
  return kept (restocking, return shipping: sales the merchant keeps). Tax and shipping
  refunded are reported beside it.
- ``net_sales = gross_sales - discounts - refunded_sales``, per period and in total.
- ``returns`` and ``units_returned`` count returns on the day they were created (with the
  units received so far); ``fees_kept`` counts a return refund's fees on the day it settled.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from refundry.domain.errors import InvalidInput

MAX_REPORT_DAYS = 3 * 366
NO_REASON = "(no reason given)"


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def merchant_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"{name!r} is not an IANA time zone (e.g. Europe/Helsinki)") from error


@dataclass(frozen=True, slots=True)
class ReportRange:
    """Whole local days ``first_day``..``last_day`` as a half-open UTC interval."""

    first_day: date
    last_day: date
    timezone: str
    start: datetime
    end: datetime

    @classmethod
    def of(cls, first_day: date, last_day: date, timezone: str) -> ReportRange:
        if last_day < first_day:
            raise InvalidInput("the range ends before it starts")
        if (last_day - first_day).days >= MAX_REPORT_DAYS:
            raise InvalidInput(f"a report covers at most {MAX_REPORT_DAYS} days")
        zone = merchant_zone(timezone)
        try:
            start = datetime.combine(first_day, time(), zone).astimezone(UTC)
            end = datetime.combine(last_day + timedelta(days=1), time(), zone).astimezone(UTC)
        except OverflowError:  # 9999-12-31 ends in the year 10000; 0001-01-01 can start in 0
            raise InvalidInput("the range must lie within the years 1 to 9999 in UTC") from None
        return cls(first_day, last_day, timezone, start, end)


def reason_key(reason: str | None) -> str:
    """Reasons grouped as people mean them: case, spacing and end punctuation ignored."""
    if reason is None:
        return ""
    text = re.sub(r"\s+", " ", reason).strip().strip(".!?,;:").strip().lower()
    return text[:200]


@dataclass(frozen=True, slots=True)
class SummaryRow:
    period: date
    currency: str
    orders: int
    gross_sales: int
    discounts: int
    tax: int
    shipping: int
    cancellations: int  # settled cancellation refunds, their amount
    cancellation_count: int
    refunds: int  # settled refunds (not cancellations), their amount
    refund_count: int
    refunded_sales: int
    refunded_tax: int
    refunded_shipping: int
    store_credit_issued: int = 0  # credited by refunds in the period
    store_credit_spent: int = 0  # spent at checkouts in the period
    store_credit_outstanding: int = 0  # every balance's sum at the period's end (a liability)
    returns: int = 0  # returns created in the period
    units_returned: int = 0  # of those returns, units received (resellable or damaged)
    fees_kept: int = 0  # restocking and return-shipping fees of refunds settled in the period

    @property
    def net_sales(self) -> int:
        return self.gross_sales - self.discounts - self.refunded_sales


@dataclass(frozen=True, slots=True)
class ItemRow:
    sku: str
    currency: str
    units_sold: int
    units_cancelled: int
    units_refunded: int
    gross: int
    discounts: int
    refunds: int  # refunded subtotals less their discount share, settled in the range
    units_returned: int = 0  # received by returns created in the range

    @property
    def net(self) -> int:
        return self.gross - self.discounts - self.refunds


# The summary's figures (every field but period and currency), in the order reports show.
SUMMARY_FIGURES = tuple(
    name for name in SummaryRow.__dataclass_fields__ if name not in ("period", "currency")
)


@dataclass(frozen=True, slots=True)
class ReasonRow:
    reason: str  # as most often written
    kind: str
    currency: str
    count: int
    amount: int


@dataclass(frozen=True, slots=True)
class RefundFilters:
    statuses: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    reason: str | None = None  # matched against the normalised reason
    staff: str | None = None  # who acted, exactly as recorded (e.g. api_key:…)


@dataclass(frozen=True, slots=True)
class RefundReportRow:
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
    payment_method: str  # the order's: it names the provider when the provider acted


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer as the merchant's orders know them (the dashboard's Users list)."""

    email: str
    external_id: str | None
    orders: int
    last_order_at: datetime
