"""Request and response bodies. Money is integer minor units of the order's currency."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
)

from refundry.domain.gift_card import LinkState
from refundry.domain.order import AuthorizationState, CaptureMode, LineKind, PaymentMethod
from refundry.domain.refund import RefundKind, RefundMethod, RefundStatus
from refundry.domain.status import FulfilmentStatus, OrderStatus
from refundry.entrypoints.api.fields import (
    EMAIL_PATTERN,
    MAX_MINOR,
    CurrencyCode,
    Instant,
    Minor,
    Quantity,
    Reason,
    StrictModel,
    Text,
    Text200,
    WholeNumber,
)
from refundry.entrypoints.api.schemas_store_credit import (
    StoreCreditPaymentIn,
    StoreCreditPaymentOut,
)


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
    store_credit: StoreCreditPaymentIn | None = Field(
        None,
        description="store credit paid part of the order, or all of it (the method is then "
        "store_credit); spent at checkout, so the order is settled there: authorized and "
        "captured are the money part. Not with points.",
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
    reason: Reason | None = Field(
        None, description='defaults to "Order cancelled via API" when omitted or blank'
    )
    status: Text[Annotated[str, Field(max_length=200)]] | None = Field(
        None,
        description='the status label shown after cancel: "cancelled" when omitted or blank, '
        'else "cancelled" or one of the merchant\'s `cancel_labels` (GET /v1/merchant), '
        "matched ignoring case and surrounding spaces and kept in the merchant's spelling; "
        "any other is refused (`unknown-cancel-label`, nothing written)",
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


# ----------------------------------------------------------------- responses
# Why an order, a line or a gift-card link cannot be cancelled now; null when it can.
CancelBlockedCode = Annotated[
    str | None,
    Field(
        description="a stable code to branch on: the problem a cancel would be refused with "
        "now, by its `condition` when it names one, else its type (`order-fulfilled`)"
    ),
]
CancelBlockedBecause = Annotated[
    str | None, Field(description="the same reason as a sentence to show a person; may change")
]


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
    cancel_blocked_because: CancelBlockedBecause
    cancel_blocked_code: CancelBlockedCode


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
    cancel_blocked_because: CancelBlockedBecause
    cancel_blocked_code: CancelBlockedCode
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
    # when the provider answered the release of a cancelled order's hold (voided or not)
    authorization_void_answered_at: datetime | None
    points: PointsPaymentOut | None = Field(description="redeem orders: what points paid")
    store_credit: StoreCreditPaymentOut | None = Field(
        description="what the customer's store credit paid, and how much was given back"
    )


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
    store_credit_refunded: int = Field(
        description="of refunded, the part given (or to be given) back as store credit"
    )
    can_cancel: bool
    cancel_blocked_because: CancelBlockedBecause
    cancel_blocked_code: CancelBlockedCode
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
    fees: int = Field(
        description="kept by the merchant from a return (restocking and return-shipping "
        "fees); amount is net of them"
    )
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
    store_credit_value: int | None = Field(
        description="the part of amount given back as store credit (credited when the refund "
        "completes)"
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
    store_credit_value: int | None = Field(description="of amount, what goes back as store credit")
    points_to_restore: int = Field(description="redeemed points the refund will give back")
    points_to_reverse: int = Field(description="earned points the refund will take back")
    quote: str
    quote_expires_at: datetime


class ProblemFieldError(BaseModel):
    """One field a ``validation-error`` problem refused, and why."""

    field: str
    message: str
    code: str


# Named without ``Out``: the class name is the schema's name in the OpenAPI components
# (#/components/schemas/Problem), and so the type's name in generated clients.
class Problem(BaseModel):
    """RFC 9457 problem details; extension members (e.g. ``refundable``) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None
    instance: str
    errors: list[ProblemFieldError] | None = None


class LinkSpentOut(BaseModel):
    order_id: uuid.UUID
    link: LinkOut
