"""Bodies of the webhook endpoints, events and deliveries API, and of the webhooks sent.

The ``*Payload`` models describe what a receiver gets; ``docs/webhooks.md`` shows one
example per event type, made by the real payload builder and checked against these
models (extra keys forbidden), so the documentation cannot drift from what is sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from refundry.domain.order import PaymentMethod
from refundry.domain.refund import RefundStatus
from refundry.domain.returns import ReturnStatus
from refundry.domain.status import OrderStatus
from refundry.domain.store_credit import StoreCreditEntryKind
from refundry.domain.webhooks import DeliveryState, EndpointStatus, EventType
from refundry.entrypoints.api.fields import StrictModel, Text, WholeNumber
from refundry.entrypoints.api.schemas import RefundOut
from refundry.entrypoints.api.schemas_returns import ReturnOut

EndpointUrl = Text[Annotated[str, Field(min_length=1, max_length=2048)]]
Description = Text[Annotated[str, Field(max_length=500)]]


# ------------------------------------------------------------------ requests
class WebhookEndpointIn(StrictModel):
    url: EndpointUrl
    enabled_events: list[EventType] = Field(min_length=1, max_length=len(EventType))
    description: Description | None = None


class WebhookEndpointPatch(StrictModel):
    url: EndpointUrl | None = None
    enabled_events: list[EventType] | None = Field(
        default=None, min_length=1, max_length=len(EventType)
    )
    description: Description | None = None
    enabled: StrictBool | None = None


class RotateSecretIn(StrictModel):
    grace_period_seconds: Annotated[int, WholeNumber] = Field(
        default=24 * 3600,
        strict=True,
        ge=0,
        le=7 * 24 * 3600,
        description="How long the old secret keeps signing too (default 24 h, at most 7 days)",
    )


class RedeliverIn(StrictModel):
    endpoint_id: uuid.UUID | None = Field(
        default=None, description="Only to this endpoint; default: every subscribed endpoint"
    )


# ----------------------------------------------------------------- responses
class WebhookEndpointOut(BaseModel):
    id: uuid.UUID
    url: str
    description: str | None
    enabled_events: list[EventType]
    status: EndpointStatus
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecretOut(WebhookEndpointOut):
    secret: str = Field(description="Shown only now: keep it to verify deliveries")


class WebhookEndpointListOut(BaseModel):
    data: list[WebhookEndpointOut]


class EventOut(BaseModel):
    id: uuid.UUID
    type: EventType
    order_id: uuid.UUID = Field(
        description="The order; for store_credit.updated, the store credit account's id"
    )
    sequence: int
    created_at: datetime
    payload: dict[str, Any] = Field(description="The body sent, exactly")


class EventListOut(BaseModel):
    data: list[EventOut]
    has_more: bool


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


class DeliveryOut(BaseModel):
    endpoint_id: uuid.UUID
    url: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    finished_at: datetime | None
    last_error: str | None
    log: list[AttemptOut]


class DeliveryListOut(BaseModel):
    event_id: uuid.UUID
    data: list[DeliveryOut]


# ---------------------------------------------------------- what is sent
class PayloadModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderSummaryPayload(PayloadModel):
    id: uuid.UUID
    external_id: str | None
    order_status: OrderStatus
    status_label: str | None
    currency: str
    total: int
    captured: int
    refunded: int
    refundable: int
    points_earned: int
    points_reversible: int
    points_redeemed: int
    points_restorable: int
    store_credit_paid: int
    store_credit_refunded: int
    payment_method: PaymentMethod


class CancelledLinePayload(PayloadModel):
    line_id: uuid.UUID
    sku: str
    quantity: int


class CancellationPayload(PayloadModel):
    scope: Literal["order", "item"]
    item_id: uuid.UUID | None
    reason: str
    lines: list[CancelledLinePayload]
    authorization_voided: bool


class AutoRefundPayload(PayloadModel):
    reason: str = Field(description="why reconciliation reversed the order")


class ActorPayload(PayloadModel):
    type: Literal["api_key", "staff", "provider", "system"]
    id: str | None


class RefundPayload(RefundOut):
    model_config = ConfigDict(extra="forbid")


class ReturnPayload(ReturnOut):
    model_config = ConfigDict(extra="forbid")


class EventData(PayloadModel):
    sequence: int = Field(description="1, 2, 3... per order: apply an order's events in order")
    order: OrderSummaryPayload
    refund: RefundPayload | None
    actor: ActorPayload
    idempotency_key: str | None
    points_reversed: int | None
    points_restored: int | None
    cancellation: CancellationPayload | None = None
    auto_refund: AutoRefundPayload | None = None
    previous_status: RefundStatus | ReturnStatus | None = None
    return_: ReturnPayload | None = Field(None, alias="return")


class StoreCreditEntryPayload(PayloadModel):
    id: uuid.UUID
    kind: StoreCreditEntryKind
    amount: int = Field(description="signed: what the entry did to the balance")
    sequence: int
    expires_at: datetime | None
    order_id: uuid.UUID | None
    refund_id: uuid.UUID | None
    note: str | None
    created_at: datetime


class StoreCreditEventData(PayloadModel):
    sequence: int = Field(description="1, 2, 3... per store credit account")
    account_id: uuid.UUID
    customer: str
    currency: str
    balance: int = Field(description="the ledger's sum after the change")
    available: int = Field(description="what the customer can spend now")
    entries: list[StoreCreditEntryPayload] = Field(description="what the change wrote")
    actor: ActorPayload
    idempotency_key: str | None


class WebhookPayload(PayloadModel):
    id: uuid.UUID = Field(description="The event id, also sent as the webhook-id header")
    type: EventType
    timestamp: datetime
    data: EventData | StoreCreditEventData
