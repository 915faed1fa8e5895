"""A batch's provider calls, side by side.

Each provider has its own threads, at most ``limit`` of them, so a slow gateway costs
the batch latency, not throughput, and never holds back another provider's calls. A call
answers with its value or with the exception it raised: the caller decides, message by
message, what an error means.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor


class ProviderCalls:
    def __init__(self) -> None:
        self._pools: dict[tuple[str, int], ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def run(self, calls: Sequence[tuple[str, Callable[[], object]]], *, limit: int) -> list[object]:
        """The answers of ``(provider name, call)`` pairs, in their order."""
        if len(calls) <= 1:
            # Nothing to overlap: no thread hand-off for the common quiet case.
            return [_answer(call) for _, call in calls]
        futures: list[Future[object]] = [
            self._pool(name, limit).submit(_answer, call) for name, call in calls
        ]
        return [future.result() for future in futures]

    def _pool(self, provider: str, limit: int) -> ThreadPoolExecutor:
        with self._lock:
            pool = self._pools.get((provider, limit))
            if pool is None:
                pool = ThreadPoolExecutor(limit, thread_name_prefix=f"provider-{provider}")
                self._pools[provider, limit] = pool
            return pool

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True)


def _answer(call: Callable[[], object]) -> object:
    try:
        return call()
    except Exception as error:  # handed back: one call's error is its message's alone
        return error
