"""The one clock every use case and handler reads: aware UTC, so no naive time is stored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_pinned: ContextVar[datetime | None] = ContextVar("refundry_pinned_clock", default=None)


def utcnow() -> datetime:
    pinned = _pinned.get()
    return datetime.now(UTC) if pinned is None else pinned


@contextmanager
def pinned_at(moment: datetime) -> Iterator[None]:
    """Every use case run inside reads ``moment`` as now. Only for writing history through
    the real use cases (the demo's last 90 days); nothing that serves requests uses it.
    A context variable, so another thread or task keeps the real time."""
    token = _pinned.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _pinned.reset(token)
