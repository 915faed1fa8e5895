"""The crash storm's client: a merchant's checkout and support desk, as its own process.

It creates card orders (a payment intent at the sandbox gateway first, as a checkout
does), captures them, ships some units, refunds (by line with a reviewed quote,
goodwill, shipping, everything left), cancels orders and cancels items, every POST with
an ``Idempotency-Key``. While the harness kills the API with SIGKILL, every request that
met a connection error, a timeout or a 5xx is sent again with the same key and the same
body until it is answered, as a real client must.

After every accepted change that may make a refund it lists the order's refunds, so the
journal names the refunds each request made (a retried request that made a second one
shows up there). The journal is JSON lines; the harness checks it against the database
and the gateway. Run as ``python -m tests.crash.client CONFIG.json``.
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import httpx

Json = dict[str, Any]

# A request is sent again after any of these: nothing was refused, the answer was lost.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
# 409s that only say "not now": another attempt with this key is still running, or the
# order changed under the request (its version check); both stored nothing.
RETRYABLE_PROBLEMS = frozenset({"idempotency-key-in-use", "conflict"})
# Refusals a careful client still meets, by request: the worker moved the order between
# the preview and the refund (the quote is stale); lines or an item worth more than the
# money left after goodwill refunds. Any other refusal is a finding.
EXPECTED_REFUSALS: dict[str, frozenset[str]] = {
    "refund": frozenset({"quote-stale"}),
    "preview": frozenset({"refund-exceeds-refundable"}),
    "cancel_item": frozenset({"refund-exceeds-refundable"}),
}
PROBLEM_PREFIX = "https://refundry.dev/problems/"
REQUEST_DEADLINE_SECONDS = 120.0  # one request may wait this long for the API to return


@dataclass(frozen=True, slots=True)
class ClientConfig:
    api: str  # http://127.0.0.1:PORT
    psp: str  # the sandbox gateway
    api_key: str
    seed: int
    orders: int
    journal: str  # path of the JSON lines journal
    think_seconds: float = 0.05  # at most this long between two requests

    @classmethod
    def load(cls, path: Path) -> ClientConfig:
        return cls(**json.loads(path.read_text()))


@dataclass
class ClientCounts:
    requests: int = 0  # HTTP requests sent to the API, retries included
    retried: int = 0  # requests sent again after a lost or 5xx answer
    transport_errors: int = 0  # refused or cut connections, timeouts
    server_errors: int = 0  # 5xx answers
    conflicts: int = 0  # 409s that stored nothing: a concurrent change, a key in use
    replayed: int = 0  # answers marked Idempotent-Replayed: the first try had committed
    refusals: dict[str, int] = field(default_factory=dict)


class ApiGaveUp(RuntimeError):
    pass


class Client:
    def __init__(self, config: ClientConfig, journal: TextIO) -> None:
        self.config = config
        self.random = random.Random(config.seed)
        self.journal = journal
        self.counts = ClientCounts()
        self.http = httpx.Client(
            base_url=config.api + "/v1",
            headers={"Authorization": f"Bearer {config.api_key}"},
            timeout=15.0,
        )
        self.psp = httpx.Client(
            base_url=config.psp, headers={"Authorization": "Bearer sk_test_crash"}, timeout=15.0
        )
        self.known_refunds: dict[str, set[str]] = {}  # order id -> refund ids seen
        self.last_refusal: str | None = None

    # ------------------------------------------------------------------ transport
    def send(
        self, method: str, path: str, body: Json | None = None, key: str | None = None
    ) -> httpx.Response:
        """One API call, sent again with the same key until it is answered."""
        deadline = time.monotonic() + REQUEST_DEADLINE_SECONDS
        headers = {"Idempotency-Key": key} if key else {}
        pause = 0.05
        first = True
        while True:
            if not first:
                self.counts.retried += 1
            first = False
            self.counts.requests += 1
            try:
                response = self.http.request(method, path, json=body, headers=headers)
            except httpx.TransportError:
                self.counts.transport_errors += 1
            else:
                if response.status_code in RETRYABLE_STATUSES:
                    self.counts.server_errors += 1
                elif problem_type(response) in RETRYABLE_PROBLEMS:
                    self.counts.conflicts += 1
                else:
                    if response.headers.get("idempotent-replayed") == "true":
                        self.counts.replayed += 1
                    return response
            if time.monotonic() > deadline:
                raise ApiGaveUp(f"{method} {path} unanswered for {REQUEST_DEADLINE_SECONDS} s")
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def write(self, record: Json) -> None:
        self.journal.write(json.dumps(record) + "\n")
        self.journal.flush()

    def think(self) -> None:
        time.sleep(self.random.uniform(0, self.config.think_seconds))

    # -------------------------------------------------------------------- orders
    def place_order(self, number: int) -> Json:
        rand = self.random
        mugs = rand.randint(1, 4)
        lines: list[Json] = [
            {
                "sku": "MUG",
                "name": "Mug",
                "quantity": mugs,
                "unit_price": 1290,
                "discount": rand.choice([0, 100 * mugs, 258]),
                "tax": 232 * mugs,
            },
            {"sku": "POT", "name": "Teapot", "quantity": 1, "unit_price": 5490, "tax": 1098},
        ]
        if rand.random() < 0.5:
            lines.append(
                {
                    "sku": "GIFT-25",
                    "name": "Gift card link",
                    "quantity": rand.randint(1, 3),
                    "unit_price": 2500,
                    "kind": "gift_card_link",
                }
            )
        shipping = {"amount": rand.choice([0, 490]), "tax": 0}
        if shipping["amount"]:
            shipping["tax"] = 98
        total = sum(
            line["quantity"] * line["unit_price"] - line.get("discount", 0) + line.get("tax", 0)
            for line in lines
        ) + (shipping["amount"] + shipping["tax"])
        external_id = f"crash-{self.config.seed}-{number}"
        # The checkout holds the money at the gateway first (a manual-capture intent).
        intent = self.psp.post(
            "/v1/payment_intents",
            data={"amount": str(total), "currency": "eur", "capture_method": "manual"},
            headers={"Idempotency-Key": f"intent-{external_id}"},
        )
        intent.raise_for_status()
        body = {
            "external_id": external_id,
            "currency": "EUR",
            "customer": {"email": f"shopper{number}@example.com"},
            "lines": lines,
            "shipping": shipping,
            "payment": {"method": "card", "capture": "manual", "reference": intent.json()["id"]},
        }
        key = f"order-{external_id}"
        response = self.send("POST", "/orders", body, key)
        if response.status_code != 201:
            raise AssertionError(f"order refused: {response.status_code} {response.text}")
        order: Json = response.json()
        self.known_refunds[order["id"]] = set()
        self.write(
            {
                "op": "order",
                "key": key,
                "order_id": order["id"],
                "payment_intent": intent.json()["id"],
                "expected_total": total,
                "total": order["total"],
            }
        )
        return order

    def change(self, order: Json, op: str, path: str, body: Json | None) -> Json | None:
        """A POST that may refund: the order afterwards, or None when refused."""
        key = f"{op}-{uuid.uuid4().hex[:16]}"
        response = self.send("POST", path, body, key)
        if response.status_code >= 400:
            self.refused(order, op, key, response)
            return None
        answer: Json = response.json()
        after: Json = answer.get("order", answer)
        made = self.new_refunds(order["id"])
        self.write(
            {
                "op": op,
                "key": key,
                "order_id": order["id"],
                "body": body,
                "refund_id": answer["id"] if op == "refund" else None,
                "amount": answer["amount"] if op == "refund" else None,
                "new_refunds": made,
                "replayed": response.headers.get("idempotent-replayed") == "true",
                "captured": after["captured"],
                "refunded": after["refunded"],
            }
        )
        return after

    def refused(self, order: Json, op: str, key: str, response: httpx.Response) -> None:
        kind = problem_type(response) or f"http-{response.status_code}"
        self.last_refusal = kind
        self.counts.refusals[kind] = self.counts.refusals.get(kind, 0) + 1
        self.write(
            {
                "op": "refused",
                "of": op,
                "key": key,
                "order_id": order["id"],
                "status": response.status_code,
                "type": kind,
                "expected": kind in EXPECTED_REFUSALS.get(op, ()),
                "detail": response.text[:500],
            }
        )

    def new_refunds(self, order_id: str) -> list[str]:
        response = self.send("GET", f"/orders/{order_id}/refunds")
        response.raise_for_status()
        ids = {refund["id"] for refund in response.json()["data"]}
        made = sorted(ids - self.known_refunds[order_id])
        self.known_refunds[order_id] = ids
        return made

    def stop_refund_owed(self, order: Json) -> bool:
        """A stopped order's cancellation (or automatic) refund refused since it stopped (one
        refused before was covered by the stop), or waiting: it may be refused before the
        next step reaches the API."""
        if order["order_status"] not in ("cancelled", "auto_refunded"):
            return False
        response = self.send("GET", f"/orders/{order['id']}/refunds")
        response.raise_for_status()
        refunds = response.json()["data"]
        stops = [r for r in refunds if r["kind"] in ("cancellation", "auto_refund")]
        automatic = [r["created_at"] for r in stops if r["kind"] == "auto_refund"]
        stopped = datetime.fromisoformat(order["cancelled_at"] or min(automatic))
        return any(
            r["status"] in ("started", "processing")
            or (
                r["status"] == "failed"
                and datetime.fromisoformat(r["status_history"][-1]["at"]) >= stopped
            )
            for r in stops
        )

    def current(self, order_id: str) -> Json:
        response = self.send("GET", f"/orders/{order_id}")
        response.raise_for_status()
        order: Json = response.json()
        return order

    # ------------------------------------------------------------------ the plan
    def run_order(self, number: int) -> None:
        order = self.place_order(number)
        self.think()
        rand = self.random
        if rand.random() < 0.15:
            # Held only: the cancel releases the hold at the gateway (a void).
            reason: Json = {"reason": "Changed mind"}
            self.change(order, "cancel", f"/orders/{order['id']}/cancel", reason)
            return
        captured = self.change(order, "capture", f"/orders/{order['id']}/capture", None)
        if captured is None:
            return
        order = captured
        shipped = False
        if rand.random() < 0.25:
            mug = order["lines"][0]
            ship: Json = {"lines": [{"line_id": mug["id"], "quantity": 1}]}
            fulfilled = self.change(order, "fulfil", f"/orders/{order['id']}/fulfil", ship)
            if fulfilled is not None:
                order, shipped = fulfilled, True
        for _ in range(rand.randint(1, 4)):
            self.think()
            order = self.current(order["id"])
            if order["refundable"] == 0:
                return
            if self.stop_refund_owed(order):
                # Owed whole: only the ending's empty-body retry may follow (a partial
                # refund is refused: order-not-refundable). One owing only a refused line
                # refund takes partial refunds, so the steps go on.
                break
            after = self.random_step(order, shipped)
            if after is not None:
                order = after
        self.think()
        order = self.current(order["id"])
        ending = rand.random()
        if ending < 0.3 and order["refundable"] > 0:
            self.change(order, "refund", f"/orders/{order['id']}/refund", {})
        elif ending < 0.55 and order["can_cancel"] and not shipped:
            body = {"reason": "Out of stock"}
            self.change(order, "cancel", f"/orders/{order['id']}/cancel", body)

    def random_step(self, order: Json, shipped: bool) -> Json | None:
        rand = self.random
        choice = rand.random()
        order_id = order["id"]
        if choice < 0.35:
            lines = [line for line in order["lines"] if line["refundable_quantity"] > 0]
            if lines:
                line = rand.choice(lines)
                quantity = rand.randint(1, line["refundable_quantity"])
                entry: Json = {"line_id": line["id"], "quantity": quantity}
                if shipped and rand.random() < 0.5:
                    entry["restock"] = True
                return self.reviewed_refund(order, {"lines": [entry], "reason": "Damaged"})
        if choice < 0.55:
            amount = rand.randint(1, min(order["refundable"], 1500))
            body = {"amount": amount, "reason": "Late delivery"}
            return self.change(order, "refund", f"/orders/{order_id}/refund", body)
        if choice < 0.65 and order["shipping"]["refundable"] > 0:
            body = {"shipping": order["shipping"]["refundable"], "reason": "Shipping waived"}
            return self.reviewed_refund(order, body)
        links = [link for line in order["lines"] for link in line["links"] if link["can_cancel"]]
        if links and choice < 0.85:
            link = rand.choice(links)
            path = f"/orders/{order_id}/items/{link['id']}/cancel"
            return self.change(order, "cancel_item", path, {"reason": "Employee left"})
        lines = [
            line
            for line in order["lines"]
            if line["kind"] == "physical" and line["can_cancel"] and line["open_quantity"] > 0
        ]
        if lines and not shipped:
            path = f"/orders/{order_id}/items/{rand.choice(lines)['id']}/cancel"
            return self.change(order, "cancel_item", path, None)
        return None

    def reviewed_refund(self, order: Json, body: Json) -> Json | None:
        """Preview, then refund exactly what was reviewed (with its quote, usually); a
        stale quote is reviewed again and sent as a new request with a new key."""
        order_id = order["id"]
        for _ in range(5):
            preview = self.send("POST", f"/orders/{order_id}/refund/preview", body)
            if preview.status_code != 200:
                self.refused(order, "preview", "", preview)
                return None
            request = dict(body)
            if self.random.random() < 0.7:
                request["quote"] = preview.json()["quote"]
            after = self.change(order, "refund", f"/orders/{order_id}/refund", request)
            if after is not None or self.last_refusal != "quote-stale":
                return after
        return None

    def run(self) -> None:
        for number in range(self.config.orders):
            self.run_order(number)
        self.write({"op": "summary", **asdict(self.counts)})


def problem_type(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    try:
        kind = response.json().get("type", "")
    except ValueError:
        return None
    return str(kind).removeprefix(PROBLEM_PREFIX)


def main(argv: list[str]) -> int:
    config = ClientConfig.load(Path(argv[1]))
    with Path(config.journal).open("a", encoding="utf-8") as journal:
        Client(config, journal).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
