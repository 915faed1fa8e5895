"""The sandbox gateway's refund events: a real ``refundry sandbox-psp`` posting to a
receiver on loopback, which Refundry's own event reader checks."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from refundry.adapters.payments.stripe_events import StripeEventReader
from refundry.config import DEFAULT_SANDBOX_WEBHOOK_SECRET
from refundry.domain.payments import ProviderRefundState
from tests.conftest import sandbox_psp_server
from tests.servers import free_port, wait_for

CARD_KEY = {"Authorization": "Bearer sk_test_checkout"}


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float  # time.monotonic()
    signature: str
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Whoever the sandbox's events go to: keeps every POST, answers ``answers`` in turn
    (then 200)."""

    answers: list[int] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, signature: str, body: bytes) -> int:
        with self.lock:
            self.arrivals.append(Arrival(time.monotonic(), signature, body))
            return self.answers.pop(0) if self.answers else 200

    def got(self) -> list[Arrival]:
        with self.lock:
            return list(self.arrivals)


@contextmanager
def receiving(port: int, receiver: Receiver) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            status = receiver.answer(self.headers.get("stripe-signature", ""), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test reads the arrivals, not a log

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/events"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def pay_and_refund(base: str, amount: int = 1500, **metadata: str) -> dict[str, Any]:
    intent = httpx.post(
        f"{base}/v1/payment_intents", data={"amount": amount, "currency": "eur"}, headers=CARD_KEY
    ).json()
    form = {"payment_intent": intent["id"], **{f"metadata[{k}]": v for k, v in metadata.items()}}
    made: dict[str, Any] = httpx.post(
        f"{base}/v1/refunds", data=form, headers=CARD_KEY, timeout=30
    ).json()
    return made


def state(base: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{base}/_sandbox/state").json()
    return answer


def test_a_settled_refund_is_announced_once_signed_as_refundry_verifies_it() -> None:
    # given a sandbox whose refunds settle after half a second, telling a receiver
    receiver = Receiver()
    with (
        receiving(free_port(), receiver) as url,
        sandbox_psp_server(settle_seconds=0.5, events_url=url) as base,
    ):
        refundry_id = str(uuid.uuid4())
        # when a refund is made and nobody reads it
        started = time.monotonic()
        made = pay_and_refund(base, 1500, refundry_refund_id=refundry_id)
        wait_for(lambda: len(receiver.got()) == 1, seconds=10, what="the refund's event")
        # then it settled at its time, not on a read, and its event came then
        [arrival] = receiver.got()
        assert 0.5 <= arrival.at - started < 5
        assert state(base)["refund_reads"] == {}
        # and Refundry's reader verifies it and reads the refund from it
        event_id, event_type, refund = StripeEventReader(DEFAULT_SANDBOX_WEBHOOK_SECRET).read(
            arrival.body, arrival.signature
        )
        assert (event_id, event_type) == (arrival.event["id"], "refund.updated")
        assert event_id.startswith("evt_")
        assert refund is not None
        assert (refund.refund.reference, refund.refund.state) == (
            made["id"],
            ProviderRefundState.COMPLETED,
        )
        assert (refund.amount, refund.currency_code) == (1500, "EUR")
        assert str(refund.refundry_refund_id) == refundry_id
        assert refund.payment_reference == made["payment_intent"]
        assert arrival.event["data"]["object"] == {**made, "status": "succeeded"}
        # and reading the settled refund afterwards sends nothing more
        httpx.get(f"{base}/v1/refunds/{made['id']}", headers=CARD_KEY)
        time.sleep(0.3)
        assert len(receiver.got()) == 1
        [delivery] = state(base)["events"]["deliveries"]
        assert (delivery["state"], delivery["attempts"]) == ("delivered", 1)


def test_a_refund_that_fails_is_announced_as_refund_failed() -> None:
    receiver = Receiver()
    with (
        receiving(free_port(), receiver) as url,
        sandbox_psp_server(events_url=url) as base,
    ):
        httpx.post(f"{base}/_sandbox/faults", json={"fail_refunds": 1})
        made = pay_and_refund(base)
        wait_for(lambda: len(receiver.got()) == 1, seconds=10, what="the refund's event")
        [arrival] = receiver.got()
        _, event_type, refund = StripeEventReader(DEFAULT_SANDBOX_WEBHOOK_SECRET).read(
            arrival.body, arrival.signature
        )
        assert event_type == "refund.failed"
        assert refund is not None
        assert (refund.refund.reference, refund.refund.state, refund.refund.failure_reason) == (
            made["id"],
            ProviderRefundState.FAILED,
            "declined",
        )


def test_a_receiver_down_at_first_gets_the_event_on_a_retry() -> None:
    # given a sandbox whose events go to a port nobody listens on yet
    port = free_port()
    receiver = Receiver(answers=[500])  # and which, once up, fails once more
    with sandbox_psp_server(events_url=f"http://127.0.0.1:{port}/events") as base:
        made = pay_and_refund(base)

        def first_attempt_failed() -> bool:
            deliveries = state(base)["events"]["deliveries"]
            return bool(deliveries) and deliveries[0]["attempts"] >= 1

        wait_for(first_attempt_failed, seconds=10, what="a first, failed delivery")
        [pending] = state(base)["events"]["deliveries"]
        assert pending["state"] == "pending"
        assert pending["last_error"].startswith("ConnectError")
        # when the receiver comes up
        with receiving(port, receiver):
            wait_for(
                lambda: state(base)["events"]["deliveries"][0]["state"] == "delivered",
                seconds=20,
                what="the retried delivery",
            )
        # then it got the same event until it said 200, each attempt freshly signed
        arrivals = receiver.got()
        assert len(arrivals) == 2
        assert arrivals[0].body == arrivals[1].body
        assert arrivals[0].event["data"]["object"]["id"] == made["id"]
        reader = StripeEventReader(DEFAULT_SANDBOX_WEBHOOK_SECRET)
        for arrival in arrivals:
            reader.read(arrival.body, arrival.signature)
        assert state(base)["events"]["deliveries"][0]["attempts"] >= 3


def test_slow_api_answers_do_not_delay_events() -> None:
    # given a sandbox whose API answers take two seconds, and refunds that settle at once
    receiver = Receiver()
    with (
        receiving(free_port(), receiver) as url,
        sandbox_psp_server(events_url=url) as base,
    ):
        intent = httpx.post(
            f"{base}/v1/payment_intents", data={"amount": 900, "currency": "eur"}, headers=CARD_KEY
        ).json()
        httpx.post(f"{base}/_sandbox/faults", json={"latency_ms": 2000})
        # when a refund is made
        httpx.post(
            f"{base}/v1/refunds",
            data={"payment_intent": intent["id"]},
            headers=CARD_KEY,
            timeout=30,
        )
        answered = time.monotonic()
        # then its event had come well before the answer did
        [arrival] = receiver.got()
        assert arrival.at < answered - 1.0


def test_events_are_pointed_or_switched_off_through_the_admin_endpoint() -> None:
    receiver = Receiver()
    with receiving(free_port(), receiver) as url, sandbox_psp_server() as base:
        # a sandbox started without a URL sends nothing
        pay_and_refund(base)
        refused = httpx.post(f"{base}/_sandbox/events", json={"url": "ftp://x"})
        assert refused.status_code == 400
        assert httpx.post(f"{base}/_sandbox/events", json={"colour": 1}).status_code == 400
        # once told where, it announces refunds settled from then on
        pointed = httpx.post(f"{base}/_sandbox/events", json={"url": url, "secret": "whsec_x"})
        assert pointed.json() == {"url": url}
        made = pay_and_refund(base)
        wait_for(lambda: len(receiver.got()) == 1, seconds=10, what="the refund's event")
        [arrival] = receiver.got()
        assert arrival.event["data"]["object"]["id"] == made["id"]
        StripeEventReader("whsec_x").read(arrival.body, arrival.signature)
        # and switched off again, it sends nothing
        httpx.post(f"{base}/_sandbox/events", json={"url": None})
        pay_and_refund(base)
        time.sleep(0.5)
        assert [d["refund"] for d in state(base)["events"]["deliveries"]] == [made["id"]]
        assert len(receiver.got()) == 1
