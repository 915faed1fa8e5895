"""The parts of an order: its vocabularies, customer, lines, shipping and payment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from refundry.domain.money import Money
from refundry.domain.refund import Refund


class LineKind(StrEnum):
    PHYSICAL = "physical"
    DIGITAL = "digital"
    GIFT_CARD_LINK = "gift_card_link"


class PaymentMethod(StrEnum):
    CARD = "card"
    KLARNA = "klarna"
    POINTS = "points"
    FLOAT = "float"  # the merchant's prepaid float (B2B gift-card orders)
    OTHER = "other"


class CaptureMode(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class AuthorizationState(StrEnum):
    """Where the hold on the customer's money stands."""

    NONE = "none"  # nothing authorized
    ACTIVE = "active"  # held, not captured
    CAPTURED = "captured"  # captured; any uncaptured rest is released
    VOID_PENDING = "void_pending"  # order cancelled; the hold must be released at the provider
    VOIDED = "voided"


@dataclass(frozen=True, slots=True)
class Customer:
    email: str
    external_id: str | None = None


@dataclass(slots=True)
class OrderLine:
    id: uuid.UUID
    sku: str
    name: str
    kind: LineKind
    quantity: int
    unit_price: Money  # tax-exclusive, per unit
    discount: Money  # line total
    tax: Money  # line total
    fulfilled_quantity: int = 0
    cancelled_quantity: int = 0  # stopped without a refund record (nothing was captured)

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity

    @property
    def total(self) -> Money:
        return self.subtotal - self.discount + self.tax

    @property
    def is_stocked(self) -> bool:
        return self.kind is LineKind.PHYSICAL


@dataclass(slots=True)
class Shipping:
    amount: Money
    tax: Money


@dataclass(slots=True)
class Payment:
    method: PaymentMethod
    capture_mode: CaptureMode
    authorized: Money
    captured: Money
    authorization_state: AuthorizationState
    reference: str | None = None  # the provider's id of the payment, when the checkout gave one


@dataclass(frozen=True, slots=True)
class Cancellation:
    refund: Refund | None  # set when captured money had to be given back
    restock: dict[str, int]  # sku -> units back on the shelf
    authorization_to_void: bool
