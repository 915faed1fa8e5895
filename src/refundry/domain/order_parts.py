"""The parts of an order: its vocabularies, customer, lines, shipping and payment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
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


# How long a provider holds an authorization before it lapses and can no longer be
# captured: Klarna's is 28 days (seed 001); card networks hold about 7. Deployments
# override these (REFUNDRY_AUTHORIZATION_DAYS_<METHOD>).
AUTHORIZATION_VALIDITY: dict[PaymentMethod, timedelta] = {
    PaymentMethod.KLARNA: timedelta(days=28),
    PaymentMethod.CARD: timedelta(days=7),
}


class AuthorizationExpiryAction(StrEnum):
    """What the authorization watch does with an unfulfilled order whose hold is lapsing."""

    FLAG = "flag"  # mark it, so support sees it and captures or cancels in time
    VOID = "void"  # cancel the order: release the hold and restock, before it lapses unseen


class AuthorizationState(StrEnum):
    """Where the hold on the customer's money stands."""

    NONE = "none"  # nothing authorized
    ACTIVE = "active"  # held, not captured
    CAPTURED = "captured"  # captured; any uncaptured rest is released
    VOID_PENDING = "void_pending"  # order cancelled; the hold must be released at the provider
    VOIDED = "voided"
    # The provider refused to release it (the payment was captured there after all, say):
    # the customer may have paid for a cancelled order, and support must look.
    VOID_FAILED = "void_failed"


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
    authorization_expires_at: datetime | None = None  # when an uncaptured hold lapses
    authorization_flagged_at: datetime | None = None  # when the watch saw it about to lapse


@dataclass(frozen=True, slots=True)
class Cancellation:
    refund: Refund | None  # set when captured money had to be given back
    restock: dict[str, int]  # sku -> units back on the shelf
    authorization_to_void: bool
