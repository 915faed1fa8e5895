"""The load generator of the HTTP benchmark: a closed loop of keep-alive HTTP/1.1 clients.

It runs in a process of its own (``run_phase`` starts one per phase), so its work is
never counted in the server's time, and it is deliberately lean: requests are prepared
as bytes beforehand and responses are parsed only as far as the status, the length and
the body. A general client (httpx) costs about as much CPU per request as a light
endpoint on this 2-core machine shares with the server; it would flatten the ratios the
benchmark exists to show.

A phase is a list of requests sent by ``concurrency`` connections, each sending its next
request as soon as the previous answer arrived (a closed loop). The connections open
first; the first ``warmup`` requests are sent and waited for before the clock starts and
are not in the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import multiprocessing.connection
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

HOST = "127.0.0.1"
REQUEST_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    port: int
    requests: list[bytes]  # whole HTTP/1.1 requests, warm-up ones first
    concurrency: int
    warmup: int = 0
    keep_bodies: bool = False


@dataclass(slots=True)
class PhaseResult:
    name: str
    count: int  # timed requests
    seconds: float  # wall time of the timed requests, first sent to last answered
    latencies: list[float]  # seconds, timed requests only
    statuses: list[int]  # 0: no HTTP answer (connection error or time-out)
    bodies: list[bytes] = field(default_factory=list)  # warm-up and timed, when kept
    failures: list[str] = field(default_factory=list)  # a few, for the log

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """The latency below which ``fraction`` of the timed requests answered, in seconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        # Nearest rank: the smallest latency that at least that fraction did not exceed.
        return ordered[min(len(ordered), max(1, math.ceil(fraction * len(ordered)))) - 1]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else 0.0

    def status_counts(self) -> Counter[int]:
        return Counter(self.statuses)


def request_bytes(
    method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class Connection:
    """One keep-alive connection; reopens when the server closes it."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(HOST, self._port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def send(self, data: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            await self.open()
        assert self._reader is not None
        assert self._writer is not None
        self._writer.write(data)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            body = await self._reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            body = await self._read_chunks()
        else:
            body = await self._reader.read()
            headers["connection"] = "close"
        if headers.get("connection") == "close":
            await self.close()
        return status, body

    async def _read_chunks(self) -> bytes:
        assert self._reader is not None
        parts = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)


async def _send_all(
    connections: list[Connection],
    requests: list[bytes],
    result: PhaseResult,
    *,
    timed: bool,
    keep_bodies: bool,
) -> None:
    next_index = 0

    async def loop(connection: Connection) -> None:
        nonlocal next_index
        while next_index < len(requests):
            data = requests[next_index]
            next_index += 1
            started = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(
                    connection.send(data), REQUEST_TIMEOUT_SECONDS
                )
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as e:
                status, body = 0, b""
                await connection.close()
                if len(result.failures) < 5:
                    result.failures.append(f"{type(e).__name__}: {e}")
            if timed:
                result.latencies.append(time.perf_counter() - started)
                result.statuses.append(status)
            if keep_bodies:
                result.bodies.append(body)
            if (status == 0 or status >= 500) and len(result.failures) < 5 and body:
                result.failures.append(f"{status}: {body[:300]!r}")

    await asyncio.gather(*(loop(connection) for connection in connections))


async def _run(phase: Phase) -> PhaseResult:
    result = PhaseResult(phase.name, len(phase.requests) - phase.warmup, 0.0, [], [])
    connections = [Connection(phase.port) for _ in range(phase.concurrency)]
    await asyncio.gather(*(connection.open() for connection in connections))
    try:
        warmup = phase.requests[: phase.warmup]
        if warmup:
            await _send_all(connections, warmup, result, timed=False, keep_bodies=phase.keep_bodies)
        started = time.perf_counter()
        await _send_all(
            connections,
            phase.requests[phase.warmup :],
            result,
            timed=True,
            keep_bodies=phase.keep_bodies,
        )
        result.seconds = time.perf_counter() - started
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    return result


def _child(phase: Phase, pipe: multiprocessing.connection.Connection) -> None:
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # the benchmark still runs, a little slower, without it
        runner = asyncio.run
    pipe.send(runner(_run(phase)))
    pipe.close()


def run_phase(phase: Phase) -> PhaseResult:
    """Run ``phase`` from a separate process and return what it measured."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(phase, sending), name=f"load-{phase.name}")
    process.start()
    sending.close()
    try:
        result: PhaseResult = receiving.recv()
    except EOFError:
        process.join()
        raise RuntimeError(
            f"the load generator of {phase.name} died ({process.exitcode})"
        ) from None
    process.join()
    return result
