"""The one clock every use case and handler reads: aware UTC, so no naive time is stored."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
