"""The sandbox gateway's state: payment intents, refunds, idempotency keys and faults.

Shapes follow Stripe's documented objects (``payment_intent``, ``refund``) so the
official SDK reads them. Refunds start ``pending`` and settle once ``settle_seconds``
have passed: at ``settles_at`` when the app's event dispatcher runs (``events.py``), or
when they are read first, whichever comes sooner. Either way a refund settles once, and
once settled it waits in ``settled`` until the dispatcher takes it to announce.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


class GatewayError(Exception):
    """A Stripe-style error response."""

    def __init__(self, status: int, type_: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, "code": code}}


@dataclass
class Faults:
    latency_ms: int = 0  # added to every API response
    fail_next: int = 0  # the next N API calls answer 500 without doing anything
    hang_next: int = 0  # the next N API calls do their work, then hang for hang_seconds
    hang_seconds: float = 30.0
    reject_refunds: int = 0  # the next N refunds are refused at once (400)
    fail_refunds: int = 0  # the next N refunds are accepted, then settle as failed
    settle_seconds: float = 1.0  # how long an accepted refund stays pending

    def update(self, changes: Json) -> None:
        for name, value in changes.items():
            if not hasattr(self, name):
                raise GatewayError(400, "invalid_request_error", f"unknown fault {name!r}")
            setattr(self, name, type(getattr(self, name))(value))


@dataclass
class _Refund:
    body: Json
    settles_at: float
    will_fail: bool


@dataclass
class Gateway:
    clock: Callable[[], float] = time.time
    faults: Faults = field(default_factory=Faults)
    payment_intents: dict[str, Json] = field(default_factory=dict)
    refunds: dict[str, _Refund] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, int, Json]] = field(default_factory=dict)
    # Every refund request by idempotency key, replays included: tests read it to see
    # that no two workers ever sent the same refund at the same time.
    refund_requests: dict[str, int] = field(default_factory=dict)
    # GET /v1/refunds/{id} by refund id: tests read it to see a refund settled from its
    # event, with no poll of the gateway.
    refund_reads: dict[str, int] = field(default_factory=dict)
    # Refunds settled and not yet taken by the event dispatcher (copies of their bodies).
    settled: list[Json] = field(default_factory=list)
    # Called, under the lock, when a refund is created or settles: the event dispatcher
    # wakes to recompute its next settle time or to announce the refund.
    on_change: Callable[[], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------- requests
    def handle(self, method: str, path: str, params: Json, idempotency_key: str | None) -> Json:
        """Run one API call; an idempotent POST replays its first response exactly."""
        with self.lock:
            if method == "POST" and path.rstrip("/").endswith("/v1/refunds"):
                key = idempotency_key or ""
                self.refund_requests[key] = self.refund_requests.get(key, 0) + 1
            if method == "POST" and idempotency_key:
                fingerprint = hashlib.sha256(
                    json.dumps([path, params], sort_keys=True).encode()
                ).hexdigest()
                stored = self.idempotent.get(idempotency_key)
                if stored is not None:
                    if stored[0] != fingerprint:
                        raise GatewayError(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                        )
                    status, body = stored[1], stored[2]
                    if status >= 400:
                        raise _replayed_error(status, body)
                    return body
                try:
                    body = self._route(method, path, params)
                except GatewayError as error:
                    if error.status < 500:
                        self.idempotent[idempotency_key] = (fingerprint, error.status, error.body)
                    raise
                self.idempotent[idempotency_key] = (fingerprint, 200, body)
                return body
            return self._route(method, path, params)

    def _route(self, method: str, path: str, params: Json) -> Json:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        match method, parts:
            case "POST", ["payment_intents"]:
                return self._create_payment_intent(params)
            case "GET", ["payment_intents", intent_id]:
                return self._payment_intent(intent_id)
            case "POST", ["payment_intents", intent_id, "capture"]:
                return self._capture(intent_id, params)
            case "POST", ["payment_intents", intent_id, "cancel"]:
                return self._cancel(intent_id)
            case "POST", ["refunds"]:
                return self._create_refund(params)
            case "GET", ["refunds", refund_id]:
                self.refund_reads[refund_id] = self.refund_reads.get(refund_id, 0) + 1
                return self._refund_body(refund_id)
        raise GatewayError(404, "invalid_request_error", f"Unrecognized request URL ({path})")

    # ------------------------------------------------------ payment intents
    def _create_payment_intent(self, params: Json) -> Json:
        amount = _positive_int(params, "amount")
        capture_method = params.get("capture_method", "automatic")
        automatic = capture_method == "automatic"
        intent = {
            "id": "pi_" + secrets.token_hex(12),
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0 if automatic else amount,
            "amount_received": amount if automatic else 0,
            "amount_refunded": 0,
            "capture_method": capture_method,
            "currency": _currency(params),
            "status": "succeeded" if automatic else "requires_capture",
            "created": int(self.clock()),
            "canceled_at": None,
            "metadata": _metadata(params),
        }
        self.payment_intents[intent["id"]] = intent
        return dict(intent)

    def _payment_intent(self, intent_id: str) -> Json:
        intent = self.payment_intents.get(intent_id)
        if intent is None:
            raise GatewayError(
                404,
                "invalid_request_error",
                f"No such payment_intent: '{intent_id}'",
                "resource_missing",
            )
        return intent

    def _capture(self, intent_id: str, params: Json) -> Json:
        intent = self._payment_intent(intent_id)
        if intent["status"] != "requires_capture":
            raise _unexpected_state(intent)
        amount = _int(params, "amount_to_capture", intent["amount_capturable"])
        if not 0 < amount <= intent["amount_capturable"]:
            raise GatewayError(400, "invalid_request_error", "amount_to_capture is too large")
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return dict(intent)

    def _cancel(self, intent_id: str) -> Json:
        intent = self._payment_intent(intent_id)
        if intent["status"] not in ("requires_capture", "requires_payment_method"):
            raise _unexpected_state(intent)
        intent.update(status="canceled", amount_capturable=0, canceled_at=int(self.clock()))
        return dict(intent)

    # -------------------------------------------------------------- refunds
    def _create_refund(self, params: Json) -> Json:
        intent_id = params.get("payment_intent")
        if intent_id:
            intent = self._payment_intent(intent_id)
            if intent["status"] != "succeeded":
                raise _unexpected_state(intent)
            left = intent["amount_received"] - intent["amount_refunded"]
            amount = _int(params, "amount", left)
            if not 0 < amount <= left:
                raise GatewayError(
                    400,
                    "invalid_request_error",
                    f"Refund amount ({amount}) is greater than unrefunded amount ({left}).",
                    "amount_too_large",
                )
            currency = intent["currency"]
        else:
            # A sandbox leniency: a refund of a payment the sandbox never saw (an order
            # ingested without a reference) is accepted, like an unreferenced refund.
            amount = _positive_int(params, "amount")
            currency = _currency(params)
        if self.faults.reject_refunds > 0:
            self.faults.reject_refunds -= 1
            raise GatewayError(
                402, "card_error", "The refund was declined by the card issuer.", "card_declined"
            )
        will_fail = self.faults.fail_refunds > 0
        if will_fail:
            self.faults.fail_refunds -= 1
        if intent_id:
            self.payment_intents[intent_id]["amount_refunded"] += amount
        body = {
            "id": "re_" + secrets.token_hex(12),
            "object": "refund",
            "amount": amount,
            "currency": currency,
            "payment_intent": intent_id,
            "status": "pending",
            "failure_reason": None,
            "reason": params.get("reason"),
            "created": int(self.clock()),
            "metadata": _metadata(params),
        }
        self.refunds[body["id"]] = _Refund(
            body, self.clock() + self.faults.settle_seconds, will_fail
        )
        self._changed()
        return dict(body)

    def _refund_body(self, refund_id: str) -> Json:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise GatewayError(
                404, "invalid_request_error", f"No such refund: '{refund_id}'", "resource_missing"
            )
        self._settle(refund)
        return dict(refund.body)

    def _settle(self, refund: _Refund) -> None:
        if refund.body["status"] != "pending" or self.clock() < refund.settles_at:
            return
        if refund.will_fail:
            refund.body.update(status="failed", failure_reason="declined")
            intent = self.payment_intents.get(refund.body["payment_intent"] or "")
            if intent is not None:
                intent["amount_refunded"] -= refund.body["amount"]
        else:
            refund.body["status"] = "succeeded"
        self.settled.append(dict(refund.body))
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # ------------------------------------------------------------ settling
    def settle_due(self) -> None:
        """Settle every refund whose time has come, read or not."""
        with self.lock:
            for refund in self.refunds.values():
                self._settle(refund)

    def next_settle_at(self) -> float | None:
        """When the next pending refund settles (``None``: none is pending)."""
        with self.lock:
            return min(
                (r.settles_at for r in self.refunds.values() if r.body["status"] == "pending"),
                default=None,
            )

    def take_settled(self) -> list[Json]:
        """The refunds settled since the last call, each returned exactly once."""
        with self.lock:
            taken, self.settled = self.settled, []
            return taken

    # ---------------------------------------------------------- inspection
    def snapshot(self) -> Json:
        with self.lock:
            for refund in self.refunds.values():
                self._settle(refund)
            return {
                "payment_intents": list(self.payment_intents.values()),
                "refunds": [refund.body for refund in self.refunds.values()],
                "refund_requests": dict(self.refund_requests),
                "refund_reads": dict(self.refund_reads),
                "faults": self.faults.__dict__,
            }

    def reset(self) -> None:
        with self.lock:
            self.payment_intents.clear()
            self.refunds.clear()
            self.idempotent.clear()
            self.refund_requests.clear()
            self.refund_reads.clear()
            self.settled.clear()
            self.faults = Faults()


def _int(params: Json, name: str, default: int) -> int:
    try:
        return int(str(params.get(name, default)))
    except ValueError:
        raise GatewayError(400, "invalid_request_error", f"Invalid integer: {name}.") from None


def _positive_int(params: Json, name: str) -> int:
    try:
        value = int(params[name])
    except (KeyError, ValueError):
        raise GatewayError(
            400, "invalid_request_error", f"Missing required param: {name}.", "parameter_missing"
        ) from None
    if value <= 0:
        raise GatewayError(400, "invalid_request_error", f"{name} must be positive.")
    return value


def _currency(params: Json) -> str:
    currency = str(params.get("currency", "")).lower()
    if len(currency) != 3:
        raise GatewayError(400, "invalid_request_error", "Missing required param: currency.")
    return currency


def _metadata(params: Json) -> dict[str, str]:
    return {
        key[len("metadata[") : -1]: str(value)
        for key, value in params.items()
        if key.startswith("metadata[") and key.endswith("]")
    }


def _unexpected_state(intent: Json) -> GatewayError:
    return GatewayError(
        400,
        "invalid_request_error",
        f"This PaymentIntent's status is {intent['status']}, which does not allow this action.",
        "payment_intent_unexpected_state",
    )


def _replayed_error(status: int, body: Json) -> GatewayError:
    error = body["error"]
    return GatewayError(status, error["type"], error["message"], error.get("code"))
