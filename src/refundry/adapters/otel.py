"""OpenTelemetry traces (the optional ``refundry[otel]`` extra): the SDK set up from the
standard ``OTEL_*`` environment, SQLAlchemy and httpx instrumented, and the ``Tracing``
port that carries a change's trace on its outbox messages to the worker.

Imported only by the composition root and the API's entry point, and only when tracing
is on (``Settings.otel``), so a process without it never imports OpenTelemetry.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy.engine import Engine

from refundry.config import InvalidSetting
from refundry.services.ports.tracing import TraceContext

SERVICE_NAME = "refundry"


class OpenTelemetryTracing:
    """The ``Tracing`` port: W3C trace context (``traceparent``, ``tracestate``), always,
    whatever ``OTEL_PROPAGATORS`` says for HTTP, since that is what the outbox stores."""

    def __init__(self, provider: trace.TracerProvider) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer("refundry")
        self._propagator = TraceContextTextMapPropagator()

    def current_context(self) -> TraceContext | None:
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier)  # nothing outside a sampled, valid span
        return carrier or None

    def continued(
        self, context: TraceContext | None, name: str, attributes: Mapping[str, str]
    ) -> AbstractContextManager[None]:
        return self._span(context, name, attributes)

    @contextmanager
    def _span(
        self, context: TraceContext | None, name: str, attributes: Mapping[str, str]
    ) -> Iterator[None]:
        parent = self._propagator.extract(dict(context)) if context else None
        with self._tracer.start_as_current_span(
            name, context=parent, kind=trace.SpanKind.CONSUMER, attributes=dict(attributes)
        ):
            yield


def start_tracing(engine: Engine) -> OpenTelemetryTracing:
    """Trace this process: the tracer provider already set (by ``opentelemetry-instrument``,
    or a test) or one made from ``OTEL_*``; the engine's statements and every httpx
    request (provider gateways, webhook deliveries) as spans."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(
            resource=Resource.create(
                {"service.name": os.environ.get("OTEL_SERVICE_NAME", SERVICE_NAME)}
            )
        )
        for exporter in _exporters(os.environ.get("OTEL_TRACES_EXPORTER", "otlp")):
            provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
    # Once per process: engines made later (another bootstrap) are traced by the
    # instrumented create_engine, so a second call's "already instrumented" is harmless.
    sqlalchemy_instrumentor: Any = SQLAlchemyInstrumentor()
    if not sqlalchemy_instrumentor.is_instrumented_by_opentelemetry:
        # Its declared range stops below SQLAlchemy 2.1, which it traces all the same (the
        # engine events it listens to are unchanged; tests/integration/test_tracing.py).
        sqlalchemy_instrumentor.instrument(
            engine=engine, tracer_provider=provider, skip_dep_check=True
        )
    httpx_instrumentor: Any = HTTPXClientInstrumentor()
    if not httpx_instrumentor.is_instrumented_by_opentelemetry:
        httpx_instrumentor.instrument(tracer_provider=provider)
    return OpenTelemetryTracing(provider)


def stop_tracing() -> None:
    """Undo ``start_tracing``'s instrumentation (tests, which share one process)."""
    for instrumentor in (SQLAlchemyInstrumentor(), HTTPXClientInstrumentor()):
        untyped: Any = instrumentor
        if untyped.is_instrumented_by_opentelemetry:
            untyped.uninstrument()


# A request's path and URL as the instrumentation records them (old and new semantic
# conventions): the ones that can hold a secret, such as a gift-card link's token.
URL_ATTRIBUTES = ("http.target", "http.url", "url.path", "url.full", "url.query")


def trace_requests(app: Any, tracing: OpenTelemetryTracing, mask: Callable[[str], str]) -> None:
    """A server span for every request to ``app`` (a FastAPI application), named by its
    route, its path and URL put through ``mask`` (the log filter's secrets hold for spans
    too: they leave the process); the per-message ASGI send and receive spans are left
    out as noise."""

    def masked(span: Any, _scope: Any) -> None:
        attributes = getattr(span, "attributes", None)
        if not span.is_recording() or not attributes:
            return
        for name in URL_ATTRIBUTES:
            value = attributes.get(name)
            if isinstance(value, str):
                span.set_attribute(name, mask(value))

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracing.provider,
        exclude_spans=["receive", "send"],
        server_request_hook=masked,
    )


def _exporters(names: str) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in (part.strip().lower() for part in names.split(",")):
        if name == "otlp":
            # Here, not above: protobuf and the exporter load only where spans leave by OTLP.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())  # OTEL_EXPORTER_OTLP_* say where and how
        elif name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name not in ("none", ""):
            raise InvalidSetting(f"OTEL_TRACES_EXPORTER: {name!r} is not otlp, console or none")
    return exporters
