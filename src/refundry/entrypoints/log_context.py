"""What the request being served is, for its log lines: its id, and the merchant and the
order once they are known.

The API's request-id middleware opens one context per request; the auth dependency adds
the merchant and the order a route's path names. The context is one object per request,
kept in a context variable and changed in place, so what is added in a dependency or in
a route run on the thread pool (where the variable itself is a copy) still reaches the
lines logged afterwards: uvicorn's access line is written last.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class RequestContext:
    request_id: str
    merchant_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None

    def log_fields(self) -> dict[str, str]:
        """The fields a log line carries, the unknown ones left out."""
        fields = {"request_id": self.request_id}
        if self.merchant_id is not None:
            fields["merchant_id"] = str(self.merchant_id)
        if self.order_id is not None:
            fields["order_id"] = str(self.order_id)
        return fields


_serving: ContextVar[RequestContext | None] = ContextVar("refundry_request", default=None)


@contextmanager
def serving(request_id: str) -> Iterator[RequestContext]:
    """The context of one request, for as long as it is served."""
    context = RequestContext(request_id)
    token = _serving.set(context)
    try:
        yield context
    finally:
        _serving.reset(token)


def current() -> RequestContext | None:
    return _serving.get()


def bind(*, merchant_id: uuid.UUID | None = None, order_id: uuid.UUID | None = None) -> None:
    """Add what became known to the request being served (nothing outside a request)."""
    context = _serving.get()
    if context is None:
        return
    if merchant_id is not None:
        context.merchant_id = merchant_id
    if order_id is not None:
        context.order_id = order_id
