"""The one cursor of the after-sales lists (``GET /v1/returns`` and the dashboard's Sales >
Returns): a record's place in the newest-first list, ``(created_at, id)``, opaque to
clients. A cursor this code did not make is refused in the caller's words."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from refundry.domain.errors import InvalidInput
from refundry.domain.refund import Refund
from refundry.domain.returns import OrderReturn


def encode_cursor(last: OrderReturn | Refund) -> str:
    text = json.dumps([last.created_at.isoformat(), str(last.id)])
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str | None, *, refusal: str) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        created_at, record_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        after = datetime.fromisoformat(created_at), uuid.UUID(record_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(refusal) from None
    if after[0].tzinfo is None:
        raise InvalidInput(refusal)
    return after
