"""The one cursor of the keyset lists (``GET /v1/returns``, the dashboard's Returns and
Orders): a record's place in its list, ``(sort value, id)``, where the sort value is a
time (newest or oldest first) or an amount in minor units (by total), opaque to clients.
A cursor this code did not make is refused in the caller's words."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from refundry.domain.errors import InvalidInput


def encode_cursor(value: datetime | int, record_id: uuid.UUID) -> str:
    text = json.dumps([value.isoformat() if isinstance(value, datetime) else value, str(record_id)])
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str | None, *, refusal: str) -> tuple[datetime, uuid.UUID] | None:
    """A place in a list sorted by time."""
    parts = _parts(cursor, refusal)
    if parts is None:
        return None
    try:
        at = datetime.fromisoformat(parts[0]) if isinstance(parts[0], str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InvalidInput(refusal)
    return at, parts[1]


def decode_amount_cursor(cursor: str | None, *, refusal: str) -> tuple[int, uuid.UUID] | None:
    """A place in a list sorted by an amount."""
    parts = _parts(cursor, refusal)
    if parts is None:
        return None
    if type(parts[0]) is not int:  # not a bool, a float or a time
        raise InvalidInput(refusal)
    return parts[0], parts[1]


def _parts(cursor: str | None, refusal: str) -> tuple[object, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        value, record_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return value, uuid.UUID(record_id)
    except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(refusal) from None
