"""The sandbox's Klarna side: a subset of Klarna's Order Management API.

A checkout's Klarna order (``POST /ordermanagement/v1/orders``, a sandbox-only shortcut
for what Klarna's Payments API does) is authorized for ``order_amount`` until
``expires_at``; it can be captured, cancelled (which releases the hold) and refunded.
``Klarna-Idempotency-Key`` replays the first answer. Klarna accepts a refund at once,
so refunds here are settled as soon as they are made.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Json = dict[str, Any]


class KlarnaError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error_code": code, "error_messages": [message]}


@dataclass
class KlarnaSandbox:
    clock: Callable[[], float] = time.time
    orders: dict[str, Json] = field(default_factory=dict)
    refunds: dict[str, Json] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, int, Json | None]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(
        self, method: str, parts: list[str], body: Json, key: str | None
    ) -> tuple[int, Json | None]:
        with self.lock:
            if method == "POST" and key:
                fingerprint = hashlib.sha256(json.dumps([parts, body]).encode()).hexdigest()
                stored = self.idempotent.get(key)
                if stored is not None:
                    if stored[0] != fingerprint:
                        raise KlarnaError(409, "CONFLICT", "idempotency key reused")
                    return stored[1], stored[2]
                status, answer = self._route(method, parts, body)
                self.idempotent[key] = (fingerprint, status, answer)
                return status, answer
            return self._route(method, parts, body)

    def _route(self, method: str, parts: list[str], body: Json) -> tuple[int, Json | None]:
        match method, parts:
            case "POST", []:
                return 201, self._create(body)
            case "GET", [order_id]:
                return 200, dict(self._order(order_id))
            case "POST", [order_id, "captures"]:
                return 201, self._capture(order_id, body)
            case "POST", [order_id, "cancel"]:
                self._cancel(order_id)
                return 204, None
            case "POST", [order_id, "refunds"]:
                return 201, self._refund(order_id, body)
            case "GET", [order_id, "refunds", refund_id]:
                refund = self.refunds.get(refund_id)
                if refund is None or refund["order_id"] != order_id:
                    raise KlarnaError(404, "NO_SUCH_REFUND", f"no refund {refund_id}")
                return 200, dict(refund)
        raise KlarnaError(404, "NOT_FOUND", "no such resource")

    def _create(self, body: Json) -> Json:
        amount = _amount(body, "order_amount")
        now = datetime.fromtimestamp(self.clock(), UTC)
        order_id = secrets.token_hex(8)
        order: Json = {
            "order_id": order_id,
            "status": "AUTHORIZED",
            "order_amount": amount,
            "purchase_currency": str(body.get("purchase_currency", "EUR")).upper(),
            "captured_amount": 0,
            "refunded_amount": 0,
            "remaining_authorized_amount": amount,
            "expires_at": (now + timedelta(days=28)).isoformat(),
        }
        self.orders[order_id] = order
        return dict(order)

    def _order(self, order_id: str) -> Json:
        order = self.orders.get(order_id)
        if order is None:
            raise KlarnaError(404, "NO_SUCH_ORDER", f"no order {order_id}")
        return order

    def _capture(self, order_id: str, body: Json) -> Json:
        order = self._order(order_id)
        amount = _amount(body, "captured_amount")
        if order["status"] != "AUTHORIZED" or amount > order["remaining_authorized_amount"]:
            raise KlarnaError(403, "CAPTURE_NOT_ALLOWED", f"order is {order['status']}")
        order.update(
            status="CAPTURED",
            captured_amount=order["captured_amount"] + amount,
            remaining_authorized_amount=0,  # one capture; the rest is released
        )
        return {"capture_id": secrets.token_hex(8), "captured_amount": amount}

    def _cancel(self, order_id: str) -> None:
        order = self._order(order_id)
        if order["status"] == "CANCELLED":
            return
        if order["status"] != "AUTHORIZED":
            raise KlarnaError(403, "CANCEL_NOT_ALLOWED", f"order is {order['status']}")
        order.update(status="CANCELLED", remaining_authorized_amount=0)

    def _refund(self, order_id: str, body: Json) -> Json:
        order = self._order(order_id)
        amount = _amount(body, "refunded_amount")
        if amount > order["captured_amount"] - order["refunded_amount"]:
            raise KlarnaError(403, "REFUND_NOT_ALLOWED", "refund exceeds the captured amount")
        order["refunded_amount"] += amount
        refund_id = secrets.token_hex(8)
        refund: Json = {
            "refund_id": refund_id,
            "order_id": order_id,
            "refunded_amount": amount,
            "description": body.get("description"),
            "reference": body.get("reference"),
            "refunded_at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
        }
        self.refunds[refund_id] = refund
        return dict(refund)

    def snapshot(self) -> Json:
        with self.lock:
            return {"orders": list(self.orders.values()), "refunds": list(self.refunds.values())}


def _amount(body: Json, name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise KlarnaError(400, "BAD_VALUE", f"{name} must be a positive integer")
    return value
