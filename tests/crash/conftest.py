"""Crash storms start many processes; a cancelled run must still stop them all."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from types import FrameType

import pytest


@pytest.fixture(scope="session", autouse=True)
def sigterm_stops_cleanly() -> Iterator[None]:
    """CI cancels a job with SIGTERM, which would end pytest at once and leave the
    storm's servers, workers and gateway running in their own sessions. As a
    KeyboardInterrupt it unwinds instead, and every finalizer kills what it started."""

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)
