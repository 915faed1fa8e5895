"""Tracing: where a change's trace is carried to the work it leaves for later.

A request that writes an outbox message stores the trace it runs in with the message
(``current_context``: the W3C ``traceparent`` and ``tracestate``), and the worker makes
the message's provider call inside a span continuing that trace (``continued``), so one
refund reads as one trace from the request to the gateway. ``NO_TRACING`` is the default:
it stores nothing and makes no span. The OpenTelemetry implementation is an adapter
(``adapters/otel.py``), wired in by the composition root when tracing is turned on.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

# A W3C trace context as it travels: ``traceparent`` and, if any, ``tracestate``.
TraceContext = Mapping[str, str]


class Tracing(Protocol):
    def current_context(self) -> TraceContext | None:
        """The trace this code runs in, to store; ``None`` outside any trace."""
        ...

    def continued(
        self, context: TraceContext | None, name: str, attributes: Mapping[str, str]
    ) -> AbstractContextManager[None]:
        """A span named ``name`` around the block, a child of ``context`` (a new trace
        when ``None``)."""
        ...


class NoTracing:
    def current_context(self) -> TraceContext | None:
        return None

    def continued(
        self, context: TraceContext | None, name: str, attributes: Mapping[str, str]
    ) -> AbstractContextManager[None]:
        return nullcontext()


NO_TRACING: Tracing = NoTracing()
