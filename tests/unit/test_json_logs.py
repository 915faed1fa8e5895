"""JSON log lines (``REFUNDRY_LOG_FORMAT=json``): one object a record, with the fields of
the request being served and of the worker's message, every field through the secret
filter."""

from __future__ import annotations

import json
import logging
import sys
import uuid

import pytest

from refundry.domain.errors import ProviderUnavailable
from refundry.domain.money import Money
from refundry.domain.order import PaymentMethod
from refundry.domain.payments import Authorization, ProviderRefund, RefundInstruction
from refundry.entrypoints import log_context
from refundry.entrypoints.log_redaction import RedactSecrets
from refundry.entrypoints.log_setup import JsonLines, RequestFields
from refundry.services.handlers import provider_work
from refundry.services.handlers.provider_work import ProviderWork
from refundry.services.ports.payment_providers import ProviderRegistry
from tests.unit.fakes import FakeUnitOfWorkFactory
from tests.unit.handlers import given
from tests.unit.handlers.given import MUG

KEY = "rfk_0123456789abcdef0123456789abcdef_s3cr_et-part"


def written(record: logging.LogRecord) -> dict[str, object]:
    """The record as a handler set up by ``log_setup`` writes it in JSON."""
    for step in (RequestFields(), RedactSecrets()):
        assert step.filter(record)
    line = JsonLines().format(record)
    assert "\n" not in line
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_an_access_line_is_one_object_with_its_parts_and_the_request_it_served() -> None:
    access = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/l/tok_en-123", "1.1", 200), None,
    )  # fmt: skip
    merchant, order = uuid.uuid4(), uuid.uuid4()
    with log_context.serving("abc123"):
        log_context.bind(merchant_id=merchant, order_id=order)
        line = written(access)
    assert line["message"] == '127.0.0.1:5 - "GET /l/[redacted] HTTP/1.1" 200'
    assert (line["logger"], line["level"]) == ("uvicorn.access", "INFO")
    assert (line["method"], line["path"], line["status"]) == ("GET", "/l/[redacted]", 200)
    assert line["request_id"] == "abc123"
    assert (line["merchant_id"], line["order_id"]) == (str(merchant), str(order))
    assert str(line["time"]).endswith("+00:00")


def test_a_line_outside_a_request_has_no_request_fields() -> None:
    line = written(logging.LogRecord("refundry.worker", logging.INFO, __file__, 1, "hi", (), None))
    assert set(line) == {"time", "level", "logger", "message"}


def test_a_secret_in_an_added_field_or_a_traceback_is_masked() -> None:
    try:
        raise ValueError(f"bad key {KEY}")
    except ValueError:
        failed = logging.LogRecord(
            "refundry.api", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    failed.endpoint = f"https://hooks.example/?key={KEY}"
    line = written(failed)
    assert KEY.split("_", 2)[2] not in json.dumps(line)
    assert line["endpoint"] == "https://hooks.example/?key=rfk_[redacted]"
    assert "ValueError: bad key rfk_[redacted]" in str(line["exception"])


class DownGateway:
    """A card gateway that does not answer."""

    name = "down"

    def refund(self, instruction: RefundInstruction) -> ProviderRefund:
        raise ProviderUnavailable("connection refused")

    def fetch_refund(self, reference: str) -> ProviderRefund:
        raise ProviderUnavailable("connection refused")

    def authorize(self, order_id: uuid.UUID, amount: Money, *, capture: bool) -> Authorization:
        raise AssertionError("not asked in these tests")

    def capture(self, payment_reference: str, amount: Money, *, idempotency_key: str) -> None:
        raise AssertionError("not asked in these tests")

    def void_authorization(self, payment_reference: str, *, idempotency_key: str) -> None:
        raise AssertionError("not asked in these tests")


def test_the_workers_line_about_a_message_names_its_topic_and_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a refund waiting in the outbox, and a gateway that does not answer
    uow_factory = FakeUnitOfWorkFactory()
    merchant_id = given.a_merchant(uow_factory)
    order = given.an_order(uow_factory, merchant_id)
    given.a_refund_of(uow_factory, merchant_id, order, MUG)
    work = ProviderWork(uow_factory, ProviderRegistry({PaymentMethod.CARD: DownGateway()}))
    # when the worker tries to send it
    with caplog.at_level(logging.WARNING, logger="refundry.worker"):
        assert provider_work.process_outbox(work) == 1
    # then its warning carries the message's topic and order as fields
    [retry] = [record for record in caplog.records if "provider unavailable" in record.message]
    line = written(retry)
    assert (line["topic"], line["order_id"]) == ("provider.refund", str(order.id))
    assert line["merchant_id"] == str(merchant_id)
    [queued] = uow_factory.store.outbox
    assert line["outbox_message_id"] == str(queued.message.id)
