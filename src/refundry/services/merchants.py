"""Merchants and their API keys. A key is shown once and stored only as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from refundry.domain.errors import InvalidInput, Unauthenticated
from refundry.domain.order_parts import AuthorizationExpiryAction
from refundry.services import reports
from refundry.services.transactions import utcnow
from refundry.services.unit_of_work import Merchant, UnitOfWork

KEY_PREFIX = "rfk"


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
    prefix, _, rest = api_key.partition("_")
    key_hex, _, secret = rest.partition("_")
    try:
        key_id = uuid.UUID(hex=key_hex)
    except ValueError:
        key_id = None
    if prefix != KEY_PREFIX or key_id is None or not secret:
        raise Unauthenticated("the API key is malformed")
    owner = uow.merchants.api_key_owner(key_id)
    if owner is None or not hmac.compare_digest(owner[1], _hash(secret)):
        raise Unauthenticated("the API key is unknown or revoked")
    return ApiCaller(owner[0], key_id)


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
) -> Merchant:
    """Change the settings named; the others stay as they are."""
    if timezone is not None:
        reports.set_timezone(uow, merchant_id, timezone)
    if authorization_expiry_action is not None:
        uow.merchants.set_authorization_expiry_action(merchant_id, authorization_expiry_action)
    if automatic_capture is not None:
        uow.merchants.set_automatic_capture(merchant_id, automatic_capture)
    merchant = uow.merchants.get(merchant_id)
    assert merchant is not None  # the caller's key belongs to it
    return merchant
