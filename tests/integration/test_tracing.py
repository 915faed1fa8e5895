"""OpenTelemetry traces (the `refundry[otel]` extra): a refund's trace runs from its
request through SQL to the outbox row, and on in the worker's provider call; with
tracing off, nothing is stored and OpenTelemetry is never imported."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.util._once import Once

from refundry.adapters import otel
from refundry.adapters.db.tables.messages import outbox_messages
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings, otel_wanted
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers import provider_work
from refundry.services.handlers.merchants import create_merchant
from refundry.services.handlers.provider_work import OutboxPolicy
from tests.conftest import Api, fresh_postgres_database, order_body

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Finished spans, kept in memory: the process's tracer provider (one per process,
    so added to if another test set it first)."""
    provider = trace.get_tracer_provider()
    ours = not isinstance(provider, TracerProvider)
    if ours:
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()
    if ours:
        # Unset again, as OpenTelemetry's own tests do (the API can set it only once): a
        # provider left set would turn FastAPI's own telemetry on for every later test.
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        trace._TRACER_PROVIDER = None


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def traced(
    request: pytest.FixtureRequest,
    spans: InMemorySpanExporter,
    sandbox_psp_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Container]:
    """The system with tracing on, on a database of its own (its worker drains the whole
    outbox)."""
    with _database(request.param, tmp_path_factory) as url:
        container = bootstrap(
            Settings(
                database_url=url,
                sandbox_psp_url=sandbox_psp_url,
                rate_limit_per_second=0,
                otel=True,
            )
        )
        try:
            yield container
        finally:
            otel.stop_tracing()
            container.engine.dispose()


def _database(kind: str, tmp_path_factory: pytest.TempPathFactory) -> AbstractContextManager[str]:
    if kind == "postgres":
        return fresh_postgres_database()
    return nullcontext(f"sqlite:///{tmp_path_factory.mktemp('traced') / 'traced.db'}")


@pytest.fixture
def traced_api(traced: Container) -> Iterator[Api]:
    merchant = transactions.run(
        traced.uow_factory, lambda uow: create_merchant(uow, f"Shop {uuid.uuid4().hex[:6]}")
    )
    with TestClient(create_app(traced), raise_server_exceptions=False) as client:
        client.headers.update({"Authorization": f"Bearer {merchant.api_key}"})
        yield Api(client, merchant, traced)


def _keyed_refund(api: Api) -> tuple[str, str]:
    """A card order and a keyed refund of it: the order's id and the refund's."""
    created = api.client.post("/v1/orders", json=order_body())
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    refunded = api.client.post(
        f"/v1/orders/{order_id}/refund",
        json={"amount": 700},
        headers={"Idempotency-Key": f"traced-{uuid.uuid4()}"},
    )
    assert refunded.status_code == 201, refunded.text
    return order_id, refunded.json()["id"]


def _stored_traceparent(container: Container, order_id: str) -> str | None:
    with container.engine.connect() as connection:
        value: str | None = connection.execute(
            sa.select(outbox_messages.c.traceparent).where(
                outbox_messages.c.order_id == uuid.UUID(order_id),
                outbox_messages.c.topic == "provider.refund",
            )
        ).scalar_one()
    return value


def _sql(span: ReadableSpan) -> bool:
    scope = span.instrumentation_scope
    return scope is not None and scope.name.endswith("sqlalchemy")


def test_a_refunds_trace_runs_from_its_request_through_the_outbox_to_the_gateway(
    traced_api: Api, spans: InMemorySpanExporter
) -> None:
    api = traced_api
    # given a keyed refund made through the API, with tracing on
    spans.clear()  # what other tests of this module recorded
    order_id, refund_id = _keyed_refund(api)
    refund_route = [
        span
        for span in spans.get_finished_spans()
        if span.kind is SpanKind.SERVER
        and span.attributes is not None
        and span.attributes.get("http.route") == "/v1/orders/{order_id}/refund"
    ]
    # then its request is a server span for the route, with its SQL statements as children
    assert len(refund_route) == 1
    server = refund_route[0]
    assert server.context is not None
    trace_id = server.context.trace_id
    statements = [
        span
        for span in spans.get_finished_spans()
        if _sql(span) and span.parent is not None and span.parent.span_id == server.context.span_id
    ]
    assert statements, "no SQL span under the refund's server span"
    # and the outbox message the refund left carries that trace
    traceparent = _stored_traceparent(api.container, order_id)
    assert traceparent is not None
    assert traceparent.split("-")[1] == f"{trace_id:032x}"

    # when the worker sends it to the gateway
    spans.clear()
    work = replace(
        api.container.provider_work,
        policy=OutboxPolicy(poll_base=timedelta(0), poll_ceiling=timedelta(0)),
    )
    assert provider_work.process_outbox(work) >= 1
    # then the call is a span of the refund's trace, and so is its HTTP request
    calls = [
        span
        for span in spans.get_finished_spans()
        if span.name == "provider.refund call"
        and span.attributes is not None
        and span.attributes.get("refundry.order_id") == order_id
    ]
    assert len(calls) == 1
    call = calls[0]
    assert call.context is not None
    assert call.context.trace_id == trace_id
    gateway = [
        span
        for span in spans.get_finished_spans()
        if span.kind is SpanKind.CLIENT
        and span.parent is not None
        and span.parent.span_id == call.context.span_id
    ]
    assert gateway, "no HTTP span under the provider call"
    assert all(span.context is not None and span.context.trace_id == trace_id for span in gateway)
    assert api.client.get(f"/v1/refunds/{refund_id}").status_code == 200


def test_a_gift_card_links_token_never_leaves_in_a_span(
    traced_api: Api, spans: InMemorySpanExporter
) -> None:
    # given a request for a gift-card link's page (its token opens the card)
    spans.clear()
    traced_api.client.get("/l/a-secret-link-token?utm=x")
    # then its server span names the path with the token masked, as the logs do
    recorded = [span for span in spans.get_finished_spans() if span.kind is SpanKind.SERVER]
    assert recorded
    for span in recorded:
        text = " ".join(str(value) for value in (span.attributes or {}).values())
        assert "a-secret-link-token" not in text + span.name
    assert any("/l/[redacted]" in str((span.attributes or {}).values()) for span in recorded)


def test_with_tracing_off_the_outbox_stores_no_trace(api: Api) -> None:
    # given the session's system, bootstrapped with tracing off
    assert not api.container.settings.otel
    # when a refund is made (while this module's spans are recorded)
    order_id, _ = _keyed_refund(api)
    # then its outbox message has no trace context
    assert _stored_traceparent(api.container, order_id) is None


def test_with_tracing_off_refundry_loads_no_opentelemetry(tmp_path: Path) -> None:
    # given an environment with no OTEL_* or REFUNDRY_OTEL
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OTEL_", "REFUNDRY_"))
    }
    env |= {
        "PYTHONPATH": str(SRC),
        "REFUNDRY_DATABASE_URL": f"sqlite:///{tmp_path / 'plain.db'}",
    }
    # when the API and the worker are built as `refundry serve` and `worker` build them,
    # after what FastAPI loads by itself (its own telemetry needs opentelemetry-api since
    # 0.16x: that much is loaded whatever Refundry does)
    program = textwrap.dedent(
        """
        import sys
        import fastapi

        fastapi.FastAPI()
        def loaded():
            prefixes = ("opentelemetry", "refundry.adapters.otel")
            return {name for name in sys.modules if name.startswith(prefixes)}
        by_fastapi = loaded()

        from refundry.bootstrap import bootstrap
        from refundry.entrypoints.api.app import create_app
        from refundry.entrypoints.worker import Worker

        container = bootstrap()
        create_app(container)
        Worker(container)
        print("loaded by refundry:", sorted(loaded() - by_fastapi))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=False
    )
    # then they were built, and loaded no OpenTelemetry module FastAPI had not
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded by refundry: []"


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, False),
        ({"REFUNDRY_OTEL": "1"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"REFUNDRY_OTEL": "0", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
    ],
)
def test_tracing_is_on_when_the_environment_asks_for_an_exporter(
    env: dict[str, str], wanted: bool
) -> None:
    assert otel_wanted(env) is wanted
