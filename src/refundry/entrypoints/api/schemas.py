"""Request and response bodies. Money is integer minor units of the order's currency."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from refundry.domain.gift_card import LinkState
from refundry.domain.money import known_currency_codes
from refundry.domain.order import AuthorizationState, CaptureMode, LineKind, PaymentMethod
from refundry.domain.refund import RefundKind, RefundMethod, RefundStatus
from refundry.domain.status import FulfilmentStatus, OrderStatus

# Large enough for any real order in any currency, small enough for a BIGINT sum.
MAX_MINOR = 10**15
MAX_QUANTITY = 1_000_000


def _whole_number(value: object) -> object:
    """JSON has one number type, and JSON Schema's ``integer`` (OpenAPI 3.1) is any number
    without a fraction: ``3.0`` is the integer 3. Strict fields still refuse "3" and true."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


WholeNumber = BeforeValidator(_whole_number)
"""After ``Field(strict=True, ...)`` in every integer a request body carries."""

Minor = Annotated[
    int, Field(strict=True, ge=0, le=MAX_MINOR, description="minor units"), WholeNumber
]


def _written_time(value: object) -> object:
    """A time in a request is an RFC 3339 string, as the schema says; pydantic would also
    take a number, as seconds since 1970."""
    if not isinstance(value, str | datetime):
        raise PydanticCustomError("datetime_type", "Input should be an RFC 3339 date-time")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_written_time)]
"""A time a request carries: with its offset, written out."""
Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY), WholeNumber]

ConstrainedStr = TypeVar("ConstrainedStr", bound=str)


def _refuse_nul(text: str) -> str:
    if "\x00" in text:
        raise PydanticCustomError(
            "string_nul_character", "String should not contain the NUL character (\\u0000)"
        )
    return text


NO_NUL_PATTERN = r"^[^\x00]*$"


class _NulInSchema:
    """Says in the OpenAPI schema what ``_refuse_nul`` checks: a ``pattern`` without NUL.
    A field with a pattern of its own spells the NUL out of that pattern instead."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        schema.setdefault("pattern", NO_NUL_PATTERN)
        return schema


Text = Annotated[ConstrainedStr, AfterValidator(_refuse_nul), _NulInSchema()]
"""Every string a request carries in its body or query: ``Text[Annotated[str, Field(...)]]``
(in its path: ``PathText``).

PostgreSQL text cannot hold NUL, so a NUL is refused here as a field error (422) rather
than reaching the database as a 500, and the schema says so. The check wraps the
constrained ``str`` so that it comes after the constraints, which keep their own messages
and OpenAPI keywords.
"""

PathText = Annotated[ConstrainedStr, AfterValidator(_refuse_nul)]
"""``Text`` for a path parameter: the NUL is refused all the same, but the schema does not
spell it: a string parameter with a pattern in the path is one schemathesis cannot make
invalid, so the fuzz test would send none of its invalid values (too long, empty)."""

# Patterns are checked by pydantic (Rust's regex crate) and read by clients as ECMA-262
# regexes (JSON Schema), where ``\s``, ``\S`` and ``.`` match different characters; so a
# pattern spells its classes out. SPACE is every character either engine calls whitespace.
SPACE = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
EMAIL_PATTERN = rf"^[^@\x00{SPACE}]+@[^@\x00{SPACE}]+$"

Reason = Text[Annotated[str, Field(max_length=1000)]]
Text200 = Text[Annotated[str, Field(min_length=1, max_length=200)]]
# Validated by Currency.of (an `unknown-currency` problem); the schema lists the codes.
CurrencyCode = Text[
    Annotated[
        str,
        Field(pattern=r"^[A-Z]{3}$", json_schema_extra={"enum": sorted(known_currency_codes())}),
    ]
]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ requests
class CustomerIn(StrictModel):
    email: Text[Annotated[str, Field(max_length=320, pattern=EMAIL_PATTERN)]]
    external_id: Text200 | None = None


class LineIn(StrictModel):
    sku: Text[Annotated[str, Field(min_length=1, max_length=100)]]
    name: Text[Annotated[str, Field(min_length=1, max_length=300)]]
    quantity: Quantity
    unit_price: Minor = Field(description="per unit, tax-exclusive, minor units")
    discount: Minor = Field(0, description="line total, minor units")
    tax: Minor = Field(0, description="line total, minor units")
    kind: LineKind = LineKind.PHYSICAL
    link_expires_at: Instant | None = Field(
        None, description="gift_card_link lines: when the links expire (default: in 365 days)"
    )


class ShippingIn(StrictModel):
    amount: Minor = 0
    tax: Minor = 0


# A provider's id: printable ASCII without spaces, as every provider's ids are.
ProviderReference = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]


class PointsPaymentIn(StrictModel):
    redeemed: Annotated[int, Field(strict=True, gt=0, le=10**12), WholeNumber] = Field(
        description="points the checkout spent from the customer's balance"
    )
    value: Minor | None = Field(
        None,
        description="the part of the order total the points paid, minor units; with "
        "method points, the whole total (the default)",
    )


class PaymentIn(StrictModel):
    method: PaymentMethod = PaymentMethod.CARD
    capture: CaptureMode | None = Field(
        None, description="defaults to the merchant's automatic_capture setting"
    )
    authorized: Minor | None = Field(None, description="defaults to the order total")
    captured: Minor | None = Field(
        None, description="defaults to the authorized amount with automatic capture, else 0"
    )
    reference: (
        Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")] | None
    ) = Field(
        None,
        description="the provider's id of this payment (a Stripe PaymentIntent), when the "
        "checkout made one; refunds to the card go against it",
    )
    points: PointsPaymentIn | None = Field(
        None,
        description="a redeem order: points paid the whole order (method points) or part "
        "of it; authorized and captured are then the money part",
    )


class OrderIn(StrictModel):
    external_id: Text200 | None = None
    currency: CurrencyCode
    customer: CustomerIn
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=500)]
    shipping: ShippingIn | None = None
    payment: PaymentIn = PaymentIn()


class AmountIn(StrictModel):
    amount: Minor | None = None


class FulfilLineIn(StrictModel):
    line_id: uuid.UUID
    quantity: Quantity


class FulfilIn(StrictModel):
    lines: Annotated[list[FulfilLineIn], Field(max_length=500)] | None = Field(
        None, description="omit to fulfil every open unit"
    )


class CancelIn(StrictModel):
    reason: Reason | None = Field(None, description='defaults to "Order cancelled via API"')
    status: Text[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, description='the status label shown after cancel; defaults to "cancelled"'
    )


class ItemCancelIn(StrictModel):
    reason: Reason | None = Field(None, description='defaults to "Order item cancelled via API"')


class SpendIn(StrictModel):
    amount: Annotated[int, Field(strict=True, ge=1, le=MAX_MINOR), WholeNumber]


class RefundLineIn(StrictModel):
    line_id: uuid.UUID
    quantity: Quantity
    restock: StrictBool = Field(False, description="put fulfilled units back on the shelf")


class RefundIn(StrictModel):
    """Omit lines, shipping and amount to refund everything still refundable."""

    lines: Annotated[list[RefundLineIn], Field(max_length=500)] | None = None
    shipping: Minor | None = Field(None, description="tax-exclusive shipping; its tax follows")
    amount: Minor | None = Field(None, description="goodwill amount on top of lines and shipping")
    reason: Reason | None = None
    method: RefundMethod | None = Field(None, description="defaults to the way the customer paid")
    quote: Text[Annotated[str, Field(max_length=1000)]] | None = Field(
        None, description="from the preview: commit exactly the previewed amounts"
    )


class StockIn(StrictModel):
    on_hand: Annotated[int, Field(strict=True, ge=-MAX_QUANTITY, le=10**12), WholeNumber]


# ----------------------------------------------------------------- responses
class CustomerOut(BaseModel):
    email: str
    external_id: str | None


class LinkOut(BaseModel):
    id: uuid.UUID
    url: str
    value: int
    spent: int
    state: LinkState
    accessed: bool
    accessed_at: datetime | None
    expired: bool
    expires_at: datetime
    cancelled_at: datetime | None
    can_cancel: bool
    cancel_blocked_because: str | None


class LineOut(BaseModel):
    id: uuid.UUID
    sku: str
    name: str
    kind: LineKind
    quantity: int
    unit_price: int
    discount: int
    tax: int
    total: int
    fulfilled_quantity: int
    cancelled_quantity: int
    refunded_quantity: int
    refundable_quantity: int
    open_quantity: int
    can_cancel: bool
    cancel_blocked_because: str | None
    links: list[LinkOut]


class ShippingOut(BaseModel):
    amount: int
    tax: int
    refunded: int
    refunded_tax: int
    refundable: int


class PaymentOut(BaseModel):
    method: PaymentMethod
    capture: CaptureMode
    authorized: int
    captured: int
    authorization_state: AuthorizationState
    reference: str | None
    authorization_expires_at: datetime | None  # an uncaptured hold cannot be captured after
    authorization_flagged_at: datetime | None  # the watch saw it about to lapse
    points: PointsPaymentOut | None = Field(description="redeem orders: what points paid")


class PointsPaymentOut(BaseModel):
    redeemed: int = Field(description="points the checkout spent")
    value: int = Field(description="the part of captured they paid, minor units")
    restored: int = Field(description="of the points redeemed, those refunds gave back")
    restorable: int


class OrderOut(BaseModel):
    id: uuid.UUID
    external_id: str | None
    order_status: OrderStatus
    status_label: str | None
    fulfilment_status: FulfilmentStatus
    currency: str
    customer: CustomerOut
    total: int
    captured: int
    refunded: int
    refundable: int
    points_earned: int = Field(description="loyalty points the order's capture earned")
    points_reversible: int = Field(description="of those, points refunds have not taken back")
    can_cancel: bool
    cancel_blocked_because: str | None
    lines: list[LineOut]
    shipping: ShippingOut
    payment: PaymentOut
    cancel_reason: str | None
    cancelled_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class OrderListOut(BaseModel):
    data: list[OrderOut]
    limit: int
    offset: int


class RefundLineOut(BaseModel):
    line_id: uuid.UUID
    sku: str
    quantity: int
    unfulfilled_quantity: int
    restocked_quantity: int
    subtotal: int
    discount: int
    tax: int
    amount: int


class BreakdownOut(BaseModel):
    currency: str
    lines: list[RefundLineOut]
    shipping: int
    shipping_tax: int
    goodwill: int
    adjustment: int
    tax: int
    amount: int


class StatusChangeOut(BaseModel):
    status: RefundStatus
    at: datetime
    detail: str | None


class RefundOut(BreakdownOut):
    id: uuid.UUID
    order_id: uuid.UUID
    kind: RefundKind
    method: RefundMethod
    status: RefundStatus
    reason: str | None
    failure_reason: str | None
    provider_reference: str | None
    points_reversed: int = Field(description="loyalty points this refund took back")
    points_restored: int = Field(description="redeemed points this refund gave back")
    points_value: int | None = Field(
        description="redeem orders: the part of amount given back in points"
    )
    money_amount: int = Field(description="the part of amount given back as money")
    created_by: str
    created_at: datetime
    completed_at: datetime | None
    status_history: list[StatusChangeOut]


class RefundListOut(BaseModel):
    data: list[RefundOut]


class RefundCreatedOut(RefundOut):
    order: OrderOut


class RefundPreviewOut(BreakdownOut):
    order_id: uuid.UUID
    method: RefundMethod
    refundable_before: int
    refundable_after: int
    money_amount: int = Field(description="of amount, what goes back as money")
    points_value: int | None = Field(description="of amount, what goes back as points")
    points_to_restore: int = Field(description="redeemed points the refund will give back")
    points_to_reverse: int = Field(description="earned points the refund will take back")
    quote: str
    quote_expires_at: datetime


class StockOut(BaseModel):
    sku: str
    on_hand: int


class StockListOut(BaseModel):
    data: list[StockOut]


class FieldErrorOut(BaseModel):
    field: str
    message: str
    code: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details; extension members (e.g. ``refundable``) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None
    instance: str
    errors: list[FieldErrorOut] | None = None


class LinkSpentOut(BaseModel):
    order_id: uuid.UUID
    link: LinkOut
