"""The one cursor of the keyset lists (``GET /v1/returns``, the dashboard's Returns, Orders
and Users): a record's place in its list, ``(sort value, key)``, where the sort value is a
time (newest or oldest first) or an amount in minor units (by total), and the key breaks
ties: a record's id, or a customer's e-mail (Users, who have no id of their own). Opaque
to clients; a cursor this code did not make is refused in the caller's words."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from refundry.domain.errors import InvalidInput


def encode_cursor(value: datetime | int, key: uuid.UUID | str) -> str:
    text = json.dumps([value.isoformat() if isinstance(value, datetime) else value, str(key)])
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str | None, *, refusal: str) -> tuple[datetime, uuid.UUID] | None:
    """A place in a list sorted by time."""
    parts = _parts(cursor, refusal)
    return None if parts is None else (_time(parts[0], refusal), _id(parts[1], refusal))


def decode_email_cursor(cursor: str | None, *, refusal: str) -> tuple[datetime, str] | None:
    """A customer's place in the Users list: their last order's time, then their e-mail."""
    parts = _parts(cursor, refusal)
    return None if parts is None else (_time(parts[0], refusal), parts[1])


def decode_amount_cursor(cursor: str | None, *, refusal: str) -> tuple[int, uuid.UUID] | None:
    """A place in a list sorted by an amount."""
    parts = _parts(cursor, refusal)
    if parts is None:
        return None
    if type(parts[0]) is not int:  # not a bool, a float or a time
        raise InvalidInput(refusal)
    return parts[0], _id(parts[1], refusal)


def _parts(cursor: str | None, refusal: str) -> tuple[object, str] | None:
    if not cursor:
        return None
    try:
        value, key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(refusal) from None
    if not isinstance(key, str):
        raise InvalidInput(refusal)
    return value, key


def _time(value: object, refusal: str) -> datetime:
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InvalidInput(refusal)
    return at


def _id(key: str, refusal: str) -> uuid.UUID:
    try:
        return uuid.UUID(key)
    except ValueError:
        raise InvalidInput(refusal) from None
