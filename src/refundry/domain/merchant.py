"""A merchant: the tenant every order, key, float and setting belongs to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from refundry.domain.order import AuthorizationExpiryAction


@dataclass(frozen=True, slots=True)
class Merchant:
    id: uuid.UUID
    name: str
    created_at: datetime
    timezone: str = "UTC"
    authorization_expiry_action: AuthorizationExpiryAction = AuthorizationExpiryAction.FLAG
    automatic_capture: bool = True  # else orders are held and captured on fulfilment
