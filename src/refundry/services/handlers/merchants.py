"""Merchants and their API keys. A key is shown once and stored only as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from refundry.domain.errors import Forbidden, InvalidInput, Unauthenticated
from refundry.domain.merchant import Merchant, checked_cancel_labels
from refundry.domain.order import AuthorizationExpiryAction
from refundry.domain.reporting import merchant_zone
from refundry.domain.staff import Role, StaffMember
from refundry.domain.store_credit import checked_validity_days
from refundry.services.clock import utcnow
from refundry.services.transactions import read
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

KEY_PREFIX = "rfk"


class Unchanged(Enum):
    """A setting the request did not name (``None`` may be a value: "never")."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True, slots=True)
class NewMerchant:
    merchant: Merchant
    api_key: str  # the only time the secret exists in clear


def create_merchant(
    uow: UnitOfWork,
    name: str,
    *,
    api_key_id: uuid.UUID | None = None,
    api_secret: str | None = None,
) -> NewMerchant:
    """A merchant with one API key; the demo fixes the key so its README tour is copyable."""
    if not name.strip():
        raise InvalidInput("merchant name must not be blank")
    now = utcnow()
    merchant = Merchant(uuid.uuid4(), name.strip(), now)
    uow.merchants.add(merchant)
    key_id = api_key_id or uuid.uuid4()
    secret = api_secret or secrets.token_urlsafe(32)
    uow.merchants.add_api_key(merchant.id, key_id, _hash(secret), now)
    return NewMerchant(merchant, f"{KEY_PREFIX}_{key_id.hex}_{secret}")


@dataclass(frozen=True, slots=True)
class ApiCaller:
    merchant_id: uuid.UUID
    key_id: uuid.UUID

    @property
    def actor(self) -> str:
        return f"api_key:{self.key_id.hex}"


def authenticate(uow: UnitOfWork, api_key: str) -> ApiCaller:
    key_id, secret = _parsed(api_key)
    owner = uow.merchants.api_key_owner(key_id)
    if owner is None or not hmac.compare_digest(owner[1], _hash(secret)):
        raise Unauthenticated("the API key is unknown or revoked")
    return ApiCaller(owner[0], key_id)


def _parsed(api_key: str) -> tuple[uuid.UUID, str]:
    prefix, _, rest = api_key.partition("_")
    key_hex, _, secret = rest.partition("_")
    try:
        key_id = uuid.UUID(hex=key_hex)
    except ValueError:
        key_id = None
    if prefix != KEY_PREFIX or key_id is None or not secret:
        raise Unauthenticated("the API key is malformed")
    return key_id, secret


class ApiKeyCache:
    """The owner and stored hash of recently used API keys, for a few seconds.

    Every API request authenticates, and reading the key's row was a transaction of its
    own (four round trips on PostgreSQL) in front of every request's real work. An entry
    is trusted for ``ttl_seconds`` after it was read: a key revoked in the database
    (``revoked_at`` set) stops working within that time in every server process. Each
    request's secret is still checked against the stored hash, so a wrong secret never
    passes; unknown and revoked keys are not remembered and are read again every time.
    """

    def __init__(
        self,
        ttl_seconds: float = 5.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[uuid.UUID, tuple[float, uuid.UUID, str]] = {}

    def cached(self, api_key: str) -> ApiCaller | None:
        """The caller, if its key was read lately; ``None`` if it must be read. Never
        touches the database (the API calls it on its event loop)."""
        key_id, secret = _parsed(api_key)
        entry = self._entries.get(key_id)
        if entry is None or self._clock() - entry[0] >= self._ttl:
            return None
        return _checked(key_id, secret, entry[1], entry[2])

    def authenticate(self, uow_factory: UnitOfWorkFactory, api_key: str) -> ApiCaller:
        caller = self.cached(api_key)
        if caller is not None:
            return caller
        key_id, secret = _parsed(api_key)
        now = self._clock()
        owner = read(uow_factory, lambda uow: uow.merchants.api_key_owner(key_id))
        if owner is None:
            self._entries.pop(key_id, None)
            raise Unauthenticated("the API key is unknown or revoked")
        if len(self._entries) >= self._max_entries:
            self._entries.clear()  # a crude bound: more keys than this in use is rare
        self._entries[key_id] = (now, *owner)
        return _checked(key_id, secret, *owner)


def _checked(key_id: uuid.UUID, secret: str, merchant_id: uuid.UUID, stored: str) -> ApiCaller:
    if not hmac.compare_digest(stored, _hash(secret)):
        raise Unauthenticated("the API key is unknown or revoked")
    return ApiCaller(merchant_id, key_id)


def _hash(secret: str) -> str:
    # Keys are 256-bit random; a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(secret.encode()).hexdigest()


def update_merchant(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    *,
    timezone: str | None = None,
    authorization_expiry_action: AuthorizationExpiryAction | None = None,
    automatic_capture: bool | None = None,
    cancel_labels: Sequence[str] | None = None,
    store_credit_validity_days: int | Unchanged | None = UNCHANGED,
) -> Merchant:
    """Change the settings named; the others stay as they are. ``cancel_labels`` replaces
    the merchant's own statuses after cancellation (``[]`` leaves only ``cancelled``);
    ``store_credit_validity_days`` applies to store credit issued from now on (``None``:
    it never expires)."""
    labels = None if cancel_labels is None else checked_cancel_labels(cancel_labels)
    if not isinstance(store_credit_validity_days, Unchanged):
        days = checked_validity_days(store_credit_validity_days)
        uow.merchants.set_store_credit_validity(merchant_id, days)
    if timezone is not None:
        set_timezone(uow, merchant_id, timezone)
    if authorization_expiry_action is not None:
        uow.merchants.set_authorization_expiry_action(merchant_id, authorization_expiry_action)
    if automatic_capture is not None:
        uow.merchants.set_automatic_capture(merchant_id, automatic_capture)
    if labels is not None:
        uow.merchants.set_cancel_labels(merchant_id, labels)
    merchant = uow.merchants.get(merchant_id)
    assert merchant is not None  # the caller's key belongs to it
    return merchant


def set_automatic_capture_as_staff(
    uow: UnitOfWork, member: StaffMember, automatic: bool
) -> Merchant:
    """The dashboard's Automatic Capture switch (seed 001). Admins only: it decides how
    the money of every order placed from then on is taken, for the whole shop, as the
    API's PATCH /v1/merchant does with the merchant's own key."""
    if member.role is not Role.ADMIN:
        raise Forbidden("only an admin changes the payment settings")
    return update_merchant(uow, member.merchant_id, automatic_capture=automatic)


def set_timezone(uow: UnitOfWork, merchant_id: uuid.UUID, timezone: str) -> str:
    merchant_zone(timezone)  # refuses what is not an IANA zone
    uow.merchants.set_timezone(merchant_id, timezone)
    return timezone
