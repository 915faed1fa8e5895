"""How the customer pays: the method, the amounts, and where a hold stands.

The order's commands on its payment (authorize, capture, void) are in ``authorization``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from refundry.domain.errors import InvalidAmount, OrderNotCapturable
from refundry.domain.money import Money
from refundry.domain.points import PointsRedemption


class PaymentMethod(StrEnum):
    CARD = "card"
    KLARNA = "klarna"
    POINTS = "points"
    FLOAT = "float"  # the merchant's prepaid float (B2B gift-card orders)
    STORE_CREDIT = "store_credit"  # the customer's store credit paid the whole order
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
    # When the provider answered a void (voided or void_failed): the timeline's entry.
    authorization_void_answered_at: datetime | None = None
    # A redeem order: points paid ``redemption.value`` of ``captured`` (the money part
    # is the rest, and is what the provider holds).
    redemption: PointsRedemption | None = None
    # The part of ``captured`` the customer's store credit paid (spent at checkout; the
    # money part is the rest, and is what the provider holds).
    store_credit: Money | None = None

    @property
    def points_value(self) -> Money:
        if self.redemption is None:
            return Money.zero(self.captured.currency)
        return self.redemption.value

    @property
    def store_credit_paid(self) -> Money:
        if self.store_credit is None:
            return Money.zero(self.captured.currency)
        return self.store_credit

    @property
    def money_captured(self) -> Money:
        """What the customer paid in money, not in points or store credit."""
        return self.captured - self.points_value - self.store_credit_paid

    @property
    def settled_at_checkout(self) -> Money:
        """What points and store credit paid at checkout: part of ``authorized`` and
        ``captured`` from the start. A hold and a capture are of the money part beside it
        (an exchange's replacement can wait for it: the store credit paid the rest)."""
        return self.points_value + self.store_credit_paid

    def hold(self, amount: Money, now: datetime, validity: timedelta | None) -> None:
        self.authorized = self.settled_at_checkout + amount
        self.authorization_state = AuthorizationState.ACTIVE
        self.authorization_expires_at = None if validity is None else now + validity

    def take(self, amount: Money | None, now: datetime, *, at_most: Money) -> None:
        """Capture the hold, or part of it, up to ``at_most`` of the order (what its live
        units are worth, what the checkout settled included); the rest is released."""
        lapses = self.authorization_expires_at
        if lapses is not None and now >= lapses:
            raise OrderNotCapturable(
                f"the authorization lapsed at {lapses.isoformat()} and can no longer be captured; "
                "cancel the order (nothing was taken from the customer)",
                authorization_expires_at=lapses.isoformat(),
            )
        settled = self.settled_at_checkout
        held = self.authorized - settled
        capturable = min(held, at_most - settled)
        amount = capturable if amount is None else amount
        if not 0 < amount.minor <= capturable.minor:
            # A wrong amount is bad input (422), not a state conflict.
            raise InvalidAmount(
                f"capture must be positive and at most {capturable.minor} minor units: the "
                "authorized amount, less what items cancelled since were worth",
                authorized=held.minor,
                capturable=capturable.minor,
            )
        self.captured = settled + amount
        self.authorization_state = AuthorizationState.CAPTURED

    def lapses_within(self, horizon: timedelta, now: datetime) -> bool:
        lapses = self.authorization_expires_at
        return (
            self.authorization_state is AuthorizationState.ACTIVE
            and lapses is not None
            and lapses <= now + horizon
        )

    def flag_lapsing(self, now: datetime) -> bool:
        """``True`` when this is news (the hold had not been flagged yet)."""
        if self.authorization_flagged_at is not None:
            return False
        self.authorization_flagged_at = now
        return True

    def end_void(self, outcome: AuthorizationState, now: datetime) -> bool:
        """Record the provider's answer to a void (voided, or void_failed); ``True`` when
        it changed anything (a second answer to the same void changes nothing)."""
        if self.authorization_state is not AuthorizationState.VOID_PENDING:
            return False
        self.authorization_state = outcome
        self.authorization_void_answered_at = now
        return True
