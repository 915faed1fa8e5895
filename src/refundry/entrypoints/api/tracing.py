"""Server spans for the API's requests, when the container traces (``Settings.otel``)."""

from __future__ import annotations

from fastapi import FastAPI

from refundry.bootstrap import Container
from refundry.entrypoints.log_redaction import redact


def trace_requests(app: FastAPI, container: Container) -> None:
    if not container.settings.otel:
        return
    # Imported only now: a process with tracing off never loads OpenTelemetry.
    from refundry.adapters import otel

    assert isinstance(container.tracing, otel.OpenTelemetryTracing)
    otel.trace_requests(app, container.tracing, redact)
