"""Failover with nothing lost (issue 23): the primary stops while refunds are made and paid.

One run (``run_failover``):

1. A pg_auto_failover formation (``tests/auto_failover.py``: a monitor, two nodes
   replicating synchronously) and the system on it as processes of their own, given the
   formation's multi-host URL with ``target_session_attrs=read-write``: ``refundry
   serve``, two ``refundry worker``, the sandbox card gateway, a loopback webhook receiver.
2. Several crash-storm clients (``tests/crash/client.py``, each its own process and seed)
   place card orders, capture, ship, refund and cancel; every POST has an Idempotency-Key
   and is sent again with it after a 503, a cut connection or a timeout.
3. Once about a quarter of their work is done, the primary's node stops as a machine
   stops (``pg_autoctl stop --immediate``: PostgreSQL and its keeper at once); the
   monitor promotes the standby. With more than one failover the stopped node is started
   again, rejoins as the standby, and the new primary is stopped in turn.
4. Nobody restarts the API or the workers: they must find the new primary by themselves.
   When the clients are done the workers drain, and the crash storm's checks run
   (``harness._check``): every refund at the gateway exactly once with its amount, none
   stuck, every event delivered, then ``refundry verify``.

The figures: requests in flight at each stop (the clients' requests between the proxy
and the API), seconds without a primary (from the stop until the monitor has promoted
the standby) and until a POST succeeded again, what clients saw (503s, cut
connections, retries), and refunds lost or doubled.

Run long: ``python -m tests.crash.failover --clients 8 --orders 12 --failovers 3``.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from refundry.adapters.db.engine import create_engine
from refundry.adapters.db.tables import messages as message_tables
from refundry.adapters.db.tables import orders as order_tables
from refundry.entrypoints.webhook_listener import ListenerState, running_listener
from tests.auto_failover import Formation, auto_failover_formation
from tests.crash.harness import (
    CLIENT_SCRIPT,
    FAST_ENV,
    RunReport,
    Service,
    _check,
    _drain,
    _new_merchant,
    _read_database,
    _tracebacks,
    _verify,
    sandbox_gateway,
    subscribe,
    wait_healthy,
)
from tests.servers import free_port, venv_script

CLIENT_SECONDS = 600.0  # all the clients' work, at most
PROMOTION_SECONDS = 120.0  # the standby promoted, at most
OPS_PER_ORDER = 5  # about what a crash client journals an order (to place the stops)


@dataclass
class Stop:
    node: str
    in_flight_requests: int  # client requests the API was answering at the stop
    refunds_unsettled: int  # refunds made and not yet paid out or failed, at the stop
    outbox_pending: int  # the workers' messages still to send, at the stop
    # from the moment the stopped node's processes had exited:
    seconds_without_primary: float = 0.0  # until the monitor promoted the standby
    seconds_until_a_post_succeeded: float = 0.0  # until a POST sent since was answered 2xx


@dataclass
class FailoverReport:
    clients: int
    orders: int
    seconds: float = 0.0
    stops: list[Stop] = field(default_factory=list)
    run: RunReport = field(default_factory=lambda: RunReport(database="pg_auto_failover", seed=0))


def run_failover(
    psp_url: str, workdir: Path, *, clients: int, orders: int, failovers: int, seed: int
) -> FailoverReport:
    started = time.monotonic()
    report = FailoverReport(clients, orders)
    report.run.seed = seed
    httpx.post(f"{psp_url}/_sandbox/reset").raise_for_status()
    with auto_failover_formation() as formation, ExitStack() as stack:
        url = formation.url()
        api_key = _new_merchant(url, psp_url)
        port = free_port()
        api = f"http://127.0.0.1:{port}"
        env = {**FAST_ENV, "REFUNDRY_DATABASE_URL": url, "REFUNDRY_SANDBOX_PSP_URL": psp_url}
        refundry = venv_script("refundry")
        server = Service("server", [refundry, "serve", "--port", str(port)], env, workdir)
        workers = [
            Service(f"worker{number}", [refundry, "worker", "--interval", "0.2"], env, workdir)
            for number in range(2)
        ]
        receiver = ListenerState()
        hook_url = stack.enter_context(running_listener(free_port(), receiver))
        proxy = CountingProxy(port)
        stack.callback(proxy.close)
        client_services = []
        for number in range(clients):
            config = {
                "api": proxy.url,
                "psp": psp_url,
                "api_key": api_key,
                "seed": seed + number,
                "orders": orders,
                "journal": str(workdir / f"journal{number}.jsonl"),
            }
            (workdir / f"client{number}.json").write_text(json.dumps(config))
            command = [sys.executable, str(CLIENT_SCRIPT), str(workdir / f"client{number}.json")]
            client_services.append(Service(f"client{number}", command, {}, workdir))
        for service in (*client_services, *workers, server):
            stack.callback(service.kill)
        server.start()
        for worker in workers:
            worker.start()
        wait_healthy(server, api)
        subscribe(receiver, api, api_key, hook_url)
        engine = create_engine(url)
        stack.callback(engine.dispose)

        for client in client_services:
            client.start()
        expected_ops = clients * orders * OPS_PER_ORDER
        deadline = time.monotonic() + CLIENT_SECONDS
        for number in range(failovers):
            # a stop after each (number + 1) / (failovers + 3) of the expected work
            _wait_for_ops(workdir, expected_ops * (number + 1) // (failovers + 3), deadline)
            if not any(client.running for client in client_services):
                report.run.problems.append(f"the clients were done before stop {number + 1}")
                break
            report.stops.append(_stop_primary(formation, engine, proxy))
            if number + 1 < failovers:  # it rejoins as the standby, for the next stop
                formation.start_node(report.stops[-1].node)
        for client in client_services:
            assert client.process is not None
            client.process.wait(timeout=max(deadline - time.monotonic(), 1))
            if client.process.returncode != 0:
                raise AssertionError(f"{client.name} failed:\n{client.log_tail()}")

        _drain(engine, receiver, workers, seed, psp_url)
        psp_state = httpx.get(f"{psp_url}/_sandbox/state").json()
        records = _journals(workdir, clients)
        _check(report.run, records, _read_database(engine), psp_state, receiver, Counter())
        for service in (server, *workers):
            report.run.problems.extend(_tracebacks(service))
        report.run.verify = _verify(url, report.run)
    report.seconds = round(time.monotonic() - started, 1)
    return report


def _journals(workdir: Path, clients: int) -> list[dict[str, Any]]:
    """The clients' journals as one, with one summary adding theirs up."""
    records: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"op": "summary", "refusals": Counter()}
    for number in range(clients):
        for line in (workdir / f"journal{number}.jsonl").read_text().splitlines():
            record = json.loads(line)
            if record["op"] != "summary":
                records.append(record)
                continue
            for name, value in record.items():
                if name == "refusals":
                    summary["refusals"].update(value)
                elif name != "op":
                    summary[name] = summary.get(name, 0) + value
    summary["refusals"] = dict(summary["refusals"])
    return [summary, *records]


def _wait_for_ops(workdir: Path, ops: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        done = sum(len(path.read_text().splitlines()) for path in workdir.glob("journal*.jsonl"))
        if done >= ops:
            return
        time.sleep(0.1)


def _stop_primary(formation: Formation, engine: sa.Engine, proxy: CountingProxy) -> Stop:
    primary = formation.settled_primary()
    with engine.connect() as connection:
        refunds = connection.execute(
            sa.select(sa.func.count()).where(
                order_tables.refunds.c.status.not_in(("completed", "failed"))
            )
        ).scalar_one()
        outbox = connection.execute(
            sa.select(sa.func.count()).where(message_tables.outbox_messages.c.state == "pending")
        ).scalar_one()
    stop = Stop(primary, proxy.in_flight, refunds, outbox)
    formation.stop_node(primary)
    # from when its PostgreSQL and keeper have exited (pg_autoctl stop only signals them)
    stopped_at = time.monotonic()
    proxy.since, proxy.succeeded_post_at = stopped_at, None
    while True:
        with suppress(Exception):  # the monitor itself stays up; a query may still fail
            promoted = formation.primary()
            if promoted is not None and promoted != primary:
                break
        if time.monotonic() - stopped_at > PROMOTION_SECONDS:
            raise AssertionError(f"no node promoted in {PROMOTION_SECONDS} s")
        time.sleep(0.1)
    stop.seconds_without_primary = round(time.monotonic() - stopped_at, 1)
    while proxy.succeeded_post_at is None and time.monotonic() - stopped_at < PROMOTION_SECONDS:
        time.sleep(0.05)
    if proxy.succeeded_post_at is not None:
        stop.seconds_until_a_post_succeeded = round(proxy.succeeded_post_at - stopped_at, 1)
    return stop


class CountingProxy:
    """A loopback TCP proxy between the clients and the API that counts the requests it
    is waiting on an answer for, and notes when a POST sent after ``since`` was first
    answered 2xx (one sent before may have committed before the stop)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lock = threading.Lock()
        self.in_flight = 0
        self.since = float("inf")
        self.succeeded_post_at: float | None = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(downstream,), daemon=True).start()

    def _relay(self, downstream: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            downstream.close()
            return
        upstream.settimeout(None)
        # the methods of requests sent and not yet answered, with when they were sent
        waiting: list[tuple[bytes, float]] = []

        def requests() -> None:
            while chunk := _receive(downstream):
                if chunk[:4] in (b"POST", b"GET ", b"PUT ", b"PATC", b"DELE"):
                    # a preview is a POST that writes nothing
                    line = chunk.split(b"\r\n", 1)[0]
                    method = b"READ" if line.split(b" ")[1].endswith(b"/preview") else chunk[:4]
                    with self.lock:
                        waiting.append((method, time.monotonic()))
                        self.in_flight += 1
                with suppress(OSError):
                    upstream.sendall(chunk)
            _close(upstream, downstream)

        threading.Thread(target=requests, daemon=True).start()
        while chunk := _receive(upstream):
            if chunk[:9] == b"HTTP/1.1 ":
                with self.lock:
                    method, sent_at = waiting.pop(0) if waiting else (b"", 0.0)
                    self.in_flight -= 1 if method else 0
                    if method == b"POST" and chunk[9:10] == b"2" and sent_at > self.since:
                        self.succeeded_post_at = self.succeeded_post_at or time.monotonic()
            try:
                downstream.sendall(chunk)
            except OSError:
                break
        with self.lock:
            self.in_flight -= len(waiting)
            waiting.clear()
        _close(upstream, downstream)


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--orders", type=int, default=12, help="orders a client")
    parser.add_argument("--failovers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/refundry-failover"))
    options = parser.parse_args(argv)
    options.workdir.mkdir(parents=True, exist_ok=True)
    with sandbox_gateway(options.workdir) as psp_url:
        report = run_failover(
            psp_url,
            options.workdir,
            clients=options.clients,
            orders=options.orders,
            failovers=options.failovers,
            seed=options.seed,
        )
    sys.stdout.write(json.dumps(asdict(report), indent=2) + "\n")
    return 1 if report.run.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
