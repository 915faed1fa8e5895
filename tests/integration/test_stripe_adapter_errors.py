"""The Stripe adapter's reading of answers, against a real local HTTP server.

A refund may be called failed only when the provider plainly refused it; every answer
that leaves doubt (a cut-off body, a proxy's timeout, an idempotency conflict, an error
while reading a refund back) must be retried instead, or the money could go out twice.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from refundry.adapters.payments.stripe_provider import StripeProvider
from refundry.domain.errors import ProviderRejected, ProviderUnavailable
from refundry.domain.money import Currency, Money
from refundry.domain.payments import ProviderRefundState, RefundInstruction

ANSWERS: dict[str, tuple[int, str]] = {}


class CannedAnswers(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, body = ANSWERS["next"]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = _answer  # noqa: N815 -- the names http.server calls
    do_POST = _answer  # noqa: N815

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def provider() -> Iterator[StripeProvider]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CannedAnswers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield StripeProvider(
        name="canned",
        api_key="sk_test_canned",
        api_base=f"http://127.0.0.1:{server.server_address[1]}",
        timeout_seconds=5,
    )
    server.shutdown()
    server.server_close()


def error(type_: str, code: str | None, message: str = "refused") -> str:
    return json.dumps({"error": {"type": type_, "code": code, "message": message}})


INSTRUCTION = RefundInstruction(
    uuid.uuid4(), uuid.uuid4(), "pi_1", Money(500, Currency.of("EUR")), None
)

UNCERTAIN = [
    pytest.param(200, '{"id": "re_1", "object": "ref', id="a 200 with a cut-off body"),
    pytest.param(408, "<html>Request Timeout</html>", id="a proxy's 408"),
    pytest.param(500, error("api_error", None), id="a 500"),
    pytest.param(429, error("invalid_request_error", "rate_limit"), id="a 429"),
    pytest.param(409, error("idempotency_error", None), id="an idempotency conflict"),
    pytest.param(
        400,
        error("invalid_request_error", "charge_already_refunded"),
        id="already refunded (a first attempt may have paid it)",
    ),
    pytest.param(401, error("invalid_request_error", None), id="a wrong API key"),
]


@pytest.mark.parametrize(("status", "body"), UNCERTAIN)
def test_an_answer_that_leaves_doubt_is_retried_never_final(
    provider: StripeProvider, status: int, body: str
) -> None:
    ANSWERS["next"] = (status, body)
    with pytest.raises(ProviderUnavailable):
        provider.refund(INSTRUCTION)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(402, error("card_error", "card_declined"), id="a declined card"),
        pytest.param(400, error("invalid_request_error", "amount_too_large"), id="too large"),
        pytest.param(404, error("invalid_request_error", "resource_missing"), id="no payment"),
    ],
)
def test_a_plain_refusal_of_a_new_refund_is_final(
    provider: StripeProvider, status: int, body: str
) -> None:
    ANSWERS["next"] = (status, body)
    with pytest.raises(ProviderRejected):
        provider.refund(INSTRUCTION)


def test_an_error_while_reading_an_accepted_refund_back_is_never_final(
    provider: StripeProvider,
) -> None:
    ANSWERS["next"] = (404, error("invalid_request_error", "resource_missing"))
    with pytest.raises(ProviderUnavailable):
        provider.fetch_refund("re_gone")


def test_a_refund_the_provider_reports_failed_is_failed_with_its_reason(
    provider: StripeProvider,
) -> None:
    body = {"id": "re_2", "object": "refund", "amount": 500, "currency": "eur",
            "status": "failed", "failure_reason": "expired_or_canceled_card"}  # fmt: skip
    ANSWERS["next"] = (200, json.dumps(body))
    refund = provider.fetch_refund("re_2")
    assert (refund.state, refund.failure_reason) == (
        ProviderRefundState.FAILED,
        "expired_or_canceled_card",
    )
