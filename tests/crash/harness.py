"""Crash storms: the real system killed with SIGKILL while a client refunds and cancels.

One run (``run_storm``) on a fresh database:

1. ``refundry serve`` (the API) and ``refundry worker`` (two of them on PostgreSQL, which
   leases work with ``SKIP LOCKED``) start as processes of their own, beside a sandbox
   card gateway (one process per test module, reset before each run) and a loopback
   webhook receiver in this process that verifies every signature. A loopback proxy
   between the client and the API can cut an answer.
2. A client process (``tests/crash/client.py``) places card orders, captures, ships,
   refunds, cancels and cancels items, each POST with an Idempotency-Key, and retries
   with the same key whenever an answer is lost.
3. Meanwhile the harness kills the server, a worker or both with SIGKILL at moments
   drawn from the run's seed (some right after the gateway saw a refund request, so the
   worker dies between the gateway's work and its own record of it; some as the API
   starts answering a POST it has committed, so the client loses the answer), restarts
   them, and now and then has the gateway refuse or fail the next refund.
4. When the client is done, all are killed once more and restarted, and the workers
   drain. Then the database, the gateway's ledger, the receiver's log and the client's
   journal must agree: every refund reached the gateway exactly once with its amount,
   none is stuck or lost, no order gave back more than it captured, every event was
   delivered (verified) at least once, and ``refundry verify`` finds no drift.

The seed fixes the plan (orders, operations, kill moments, faults); the interleaving
with the processes still depends on timing, so a seed repeats a run's plan, not its
exact schedule.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from refundry.adapters.db.engine import create_engine
from refundry.adapters.db.tables import messages as message_tables
from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import webhooks as webhook_tables
from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.entrypoints.webhook_listener import ListenerState, Received, running_listener
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from tests.servers import free_port, venv_script

Json = dict[str, Any]

CLIENT_SCRIPT = Path(__file__).with_name("client.py")

# Short timeouts and leases, so a killed worker's work is taken over within seconds.
FAST_ENV = {
    "REFUNDRY_PROVIDER_TIMEOUT_SECONDS": "2",
    "REFUNDRY_OUTBOX_LEASE_SECONDS": "3",
    "REFUNDRY_WEBHOOK_TIMEOUT_SECONDS": "1",  # the delivery lease is three times this
    "REFUNDRY_WEBHOOK_RETRY_BASE_SECONDS": "1",
    "REFUNDRY_WEBHOOK_RETRY_CEILING_SECONDS": "5",
    "REFUNDRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",  # the receiver is on loopback
}
STARTUP_SECONDS = 90.0  # a loaded machine (two cores, shared) starts the API slowly
CLIENT_SECONDS = 600.0  # the whole storm, at most
DRAIN_SECONDS = 180.0  # the worker's drain after the storm, at most
VERIFY_SECONDS = 300.0

SETTLED_REFUND_STATUSES = frozenset({"completed", "failed"})


# ------------------------------------------------------------------ processes
@dataclass
class Service:
    """A process in its own session, so SIGKILL to its group leaves nothing behind."""

    name: str
    command: list[str]
    env: Mapping[str, str]
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1} at {time.time():.3f}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                env={**os.environ, **self.env},
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group, and reap."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, seconds: float = 20) -> None:
        """SIGTERM, then SIGKILL if it has not stopped within ``seconds``."""
        if self.process is not None and self.process.poll() is None:
            with suppress(ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=seconds)
        self.kill()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""


def wait_healthy(service: Service, base_url: str, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if not service.running:
            raise RuntimeError(f"{service.name} exited while starting:\n{service.log_tail()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service.name} did not answer within {seconds} s")
        time.sleep(0.05)


def subscribe(receiver: ListenerState, api: str, api_key: str, hook_url: str) -> None:
    """Register ``hook_url`` for the merchant's refund and cancel events; ``receiver``
    verifies what arrives with the endpoint's secret."""
    endpoint = httpx.post(
        f"{api}/v1/webhook-endpoints",
        headers={"Authorization": f"Bearer {api_key}"},
        json={"url": hook_url, "enabled_events": ["cancelled", "refunded", "refund.updated"]},
    )
    endpoint.raise_for_status()
    receiver.signing_secrets.append(endpoint.json()["secret"])


@contextmanager
def sandbox_gateway(workdir: Path) -> Iterator[str]:
    """The sandbox card gateway as a process of its own, logging to a file (a pipe
    nobody reads could fill up over a long run)."""
    port = free_port()
    service = Service(
        "sandbox-psp",
        [venv_script("refundry"), "sandbox-psp", "--port", str(port)],
        {},
        workdir,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        service.start()
        wait_healthy(service, base)
        yield base
    finally:
        service.stop()


# ---------------------------------------------------------------------- plans
@dataclass(frozen=True, slots=True)
class StormPlan:
    """What one run does, drawn from its seed."""

    seed: int
    orders: int
    max_kills: int
    psp_latency_ms: int  # the gateway answers this late, after doing the work
    psp_settle_seconds: float  # an accepted refund stays pending this long
    receiver_hang_seconds: float  # the webhook receiver answers this late
    fault_chance: float  # after a kill, the chance the next refund is refused or fails
    # The gateway sends its refund events to the API (killed too), and the workers poll only
    # as a fallback; else no events, and polls settle every refund.
    settle_by_events: bool = False

    @classmethod
    def draw(cls, seed: int, *, long: bool) -> StormPlan:
        rand = random.Random(seed)
        return cls(
            seed=seed,
            orders=rand.randint(4, 6) if long else 3,
            max_kills=rand.randint(3, 5) if long else 2,
            psp_latency_ms=rand.choice([0, 50, 150, 300]),
            psp_settle_seconds=rand.choice([0.0, 0.2, 0.6]),
            receiver_hang_seconds=rand.choice([0.0, 0.0, 0.02, 0.1]),
            fault_chance=rand.choice([0.0, 0.2, 0.4]),
            settle_by_events=rand.random() < 0.5,  # drawn last: earlier seeds' plans stand
        )


@dataclass
class RunReport:
    database: str
    seed: int
    seconds: float = 0.0
    orders: int = 0
    kills_server: int = 0
    kills_worker: int = 0
    kills_after_gateway: int = 0  # worker kills right after the gateway saw a refund request
    kills_after_commit: int = 0  # server kills after a commit, with the answer dropped
    kills_mid_delivery: int = 0  # worker kills while the receiver held a delivery
    requests: int = 0  # the client's requests to the API, retries included
    retried: int = 0  # requests sent again with the same key after a lost answer
    replayed: int = 0  # retries answered from the stored response (the first had committed)
    transport_errors: int = 0
    server_errors: int = 0
    conflicts: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    refunds: int = 0  # refunds in the database (every one accepted by the API)
    refunds_completed: int = 0
    refunds_failed: int = 0
    psp_refunds: int = 0  # refunds the gateway created
    psp_refund_requests: int = 0  # refund requests it received, replays included
    faults_consumed: int = 0  # refunds the gateway was told to refuse or fail
    voids: int = 0
    events: int = 0  # webhook events in the database
    deliveries_received: int = 0  # requests the receiver got (duplicates included)
    duplicate_deliveries: int = 0  # the same event received more than once (allowed)
    duplicate_refunds: int = 0  # a refund paid twice, or made twice by one request: must be 0
    verify: str = "not run"
    phases: dict[str, float] = field(default_factory=dict)  # seconds spent in each step
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- a run
def run_storm(database_url: str, psp_url: str, workdir: Path, plan: StormPlan) -> RunReport:
    """One storm on a fresh database; returns its report (``problems`` lists what broke)."""
    started = time.monotonic()
    rand = random.Random(plan.seed * 7919 + 1)  # the harness's own draws; the client's differ
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    report = RunReport(database=kind, seed=plan.seed)
    mark = started

    def phase(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        report.phases[name] = round(now - mark, 1)
        mark = now

    workdir.mkdir(parents=True, exist_ok=True)
    httpx.post(f"{psp_url}/_sandbox/reset").raise_for_status()
    faults = {"latency_ms": plan.psp_latency_ms, "settle_seconds": plan.psp_settle_seconds}
    httpx.post(f"{psp_url}/_sandbox/faults", json=faults).raise_for_status()
    api_key = _new_merchant(database_url, psp_url)
    receiver = ListenerState(hang_seconds=plan.receiver_hang_seconds)
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    env = {**FAST_ENV, "REFUNDRY_DATABASE_URL": database_url, "REFUNDRY_SANDBOX_PSP_URL": psp_url}
    events = {"url": f"{api}/v1/providers/sandbox/events" if plan.settle_by_events else None}
    httpx.post(f"{psp_url}/_sandbox/events", json=events).raise_for_status()
    if plan.settle_by_events:
        env |= {
            "REFUNDRY_REFUND_EVENTS_EXPECTED": "1",
            "REFUNDRY_REFUND_POLL_FALLBACK_SECONDS": "2",
        }
    refundry = venv_script("refundry")
    server = Service("server", [refundry, "serve", "--port", str(port)], env, workdir)
    workers = [
        Service(f"worker{number}", [refundry, "worker", "--interval", "0.2"], env, workdir)
        for number in range(1 if kind == "sqlite" else 2)  # SQLite: run one, says the README
    ]
    journal = workdir / "journal.jsonl"
    client_config = workdir / "client.json"
    client_command = [sys.executable, str(CLIENT_SCRIPT), str(client_config)]
    client = Service("client", client_command, {}, workdir)
    injected = Counter[str]()
    with ExitStack() as stack:
        hook_url = stack.enter_context(running_listener(free_port(), receiver))
        proxy = CuttingProxy(port)  # the client's way to the API
        stack.callback(proxy.close)
        config = {
            "api": proxy.url,
            "psp": psp_url,
            "api_key": api_key,
            "seed": plan.seed,
            "orders": plan.orders,
            "journal": str(journal),
        }
        client_config.write_text(json.dumps(config))
        for service in (client, *workers, server):  # last in, first killed
            stack.callback(service.kill)
        server.start()
        for worker in workers:
            worker.start()
        wait_healthy(server, api)
        subscribe(receiver, api, api_key, hook_url)
        phase("start")

        client.start()
        rig = Rig(psp_url, api, proxy, receiver, server, workers, client)
        _storm(plan, rand, report, rig, injected)
        phase("storm")
        if client.process is None or client.process.returncode != 0:
            raise AssertionError(f"the client failed (seed {plan.seed}):\n{client.log_tail()}")

        # After the storm: one last crash of all, a restart, and the workers drain.
        for service in (server, *workers):
            service.kill()
            service.start()
        report.kills_server += 1
        report.kills_worker += len(workers)
        engine = create_engine(database_url)
        stack.callback(engine.dispose)
        _drain(engine, receiver, workers, plan.seed, psp_url)
        phase("drain")
        wait_healthy(server, api)  # the API comes back after its crash too
        for service in (*workers, server):
            service.kill()  # idle now: how they stop no longer matters

        psp_state: Json = httpx.get(f"{psp_url}/_sandbox/state").json()
        records = [json.loads(line) for line in journal.read_text().splitlines()]
        database = _read_database(engine)
        _check(report, records, database, psp_state, receiver, injected)
        for service in (server, *workers):
            report.problems.extend(_tracebacks(service))
        phase("check")
        report.verify = _verify(database_url, report)
        phase("verify")
    report.seconds = round(time.monotonic() - started, 1)
    return report


def _new_merchant(database_url: str, psp_url: str) -> str:
    """Migrate the fresh database and create the run's merchant; returns its API key."""
    container = bootstrap(Settings(database_url=database_url, sandbox_psp_url=psp_url))
    try:
        created = transactions.run(
            container.uow_factory, lambda uow: create_merchant(uow, "Crash Storm Shop")
        )
    finally:
        container.engine.dispose()
    return created.api_key


@dataclass(frozen=True, slots=True)
class Rig:
    """What a storm acts on."""

    psp_url: str
    api: str  # the API itself (the client goes through the proxy)
    proxy: CuttingProxy
    receiver: ListenerState
    server: Service
    workers: list[Service]
    client: Service


def _storm(
    plan: StormPlan, rand: random.Random, report: RunReport, rig: Rig, injected: Counter[str]
) -> None:
    """Kill and restart until the client is done."""
    server, workers, client = rig.server, rig.workers, rig.client
    assert client.process is not None
    deadline = time.monotonic() + CLIENT_SECONDS
    kills = 0
    while client.running:
        if time.monotonic() > deadline:
            raise AssertionError(f"the client did not finish within {CLIENT_SECONDS} s")
        if kills >= plan.max_kills:
            time.sleep(0.1)
            continue
        try:
            client.process.wait(timeout=rand.uniform(0.2, 1.5 if kills else 0.8))
            break
        except subprocess.TimeoutExpired:
            pass
        victim = rand.choices(["server", "worker", "both"], weights=[4, 4, 2])[0]
        if kills == 0:  # the first kill, early: the API, so the client is held up at once
            victim = rand.choice(["server", "both"])
        elif kills == plan.max_kills - 1:  # the last kill: whoever was spared so far
            spared = (report.kills_server == 0, report.kills_worker == 0)
            victim = {(True, True): "both", (True, False): "server", (False, True): "worker"}.get(
                spared, victim
            )
        moment = rand.random()
        server_killed = workers_killed = False
        if victim == "server" and moment < 0.5:
            # The API has committed a change and starts to answer: the client never gets
            # the answer, and must learn the outcome by retrying with the same key.
            server_killed = rig.proxy.cut_next_answer(server.kill)
            report.kills_after_commit += int(server_killed)
        elif victim == "worker" and moment < 0.35:
            # A webhook has reached the receiver, which has not answered yet: the worker
            # that sent it never learns it arrived (every worker dies: which one sent it
            # is not known here).
            workers_killed = _kill_mid_delivery(rig.receiver, workers)
            if workers_killed:
                report.kills_mid_delivery += 1
                report.kills_worker += len(workers)
        elif victim != "server" and moment < 0.7 and _refund_request_seen(rig.psp_url):
            # The gateway has just done a refund's work and is about to answer (its
            # latency comes after the work): the worker dies before recording it.
            time.sleep(rand.uniform(0, plan.psp_latency_ms / 1000))
            report.kills_after_gateway += 1
        if victim in ("server", "both"):
            if not server_killed:
                server.kill()
            report.kills_server += 1
        if victim in ("worker", "both") and not workers_killed:
            rand.choice(workers).kill()
            report.kills_worker += 1
        kills += 1
        if rand.random() < plan.fault_chance:
            _inject_fault(rig.psp_url, rand.choice(["reject_refunds", "fail_refunds"]), injected)
        time.sleep(rand.uniform(0, 0.5))
        for worker in workers:
            if not worker.running:
                worker.start()
        if not server.running:
            server.start()
            wait_healthy(server, rig.api)
    client.process.wait()


def _kill_mid_delivery(receiver: ListenerState, workers: list[Service], seconds: float = 3) -> bool:
    """Kill every worker as soon as the receiver gets a webhook, before it answers;
    returns whether one came within ``seconds``."""
    lock = threading.Lock()
    fired = threading.Event()

    def at_receive(_received: Received) -> None:
        with lock:
            if fired.is_set():
                return
            for worker in workers:
                worker.kill()
            fired.set()

    receiver.on_receive = at_receive
    fired.wait(timeout=seconds)
    receiver.on_receive = None
    with lock:  # a kill under way ends before the storm goes on
        return fired.is_set()


class CuttingProxy:
    """A loopback TCP proxy between the client and the API.

    Told to cut the next answer, it waits for the API to start answering a POST (other
    than a preview): the API has committed the change and its stored response by then.
    At that moment it kills the API with SIGKILL and drops the answer, so the client's
    connection breaks after its change was made: the case an Idempotency-Key is for.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.armed: Callable[[], None] | None = None  # what to do at the cut
        self.fired = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)

    def cut_next_answer(self, at_cut: Callable[[], None], seconds: float = 3.0) -> bool:
        """Cut the next POST's answer within ``seconds``, calling ``at_cut`` first;
        returns whether it happened."""
        self.fired.clear()
        self.done.clear()
        with self.lock:
            self.armed = at_cut
        self.fired.wait(timeout=seconds)
        with self.lock:
            self.armed = None
        if self.fired.is_set():
            self.done.wait(timeout=30)
            return True
        return False

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._relay, args=(downstream,), daemon=True).start()

    def _relay(self, downstream: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            downstream.close()  # the API is down: the client sees its connection close
            return
        upstream.settimeout(None)
        posting = [False]  # is the request being answered a POST that changes something?

        def requests() -> None:
            while chunk := _receive(downstream):
                if chunk[:5] == b"POST ":
                    line = chunk.split(b"\r\n", 1)[0]
                    posting[0] = not line.split(b" ")[1].endswith(b"/refund/preview")
                elif chunk[:4] in (b"GET ", b"PUT ", b"PATC", b"DELE"):
                    posting[0] = False
                if not _send(upstream, chunk):
                    break
            _close(upstream, downstream)

        threading.Thread(target=requests, daemon=True).start()
        while chunk := _receive(upstream):
            if chunk[:9] == b"HTTP/1.1 " and posting[0]:
                with self.lock:
                    at_cut, self.armed = self.armed, None
                if at_cut is not None:
                    self.fired.set()
                    at_cut()
                    _close(upstream, downstream)
                    self.done.set()
                    return
            if not _send(downstream, chunk):
                break
        _close(upstream, downstream)


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


def _refund_request_seen(psp_url: str, seconds: float = 2.0) -> bool:
    """Wait (a while) for the gateway to receive another refund request."""

    def requests() -> int:
        state = httpx.get(f"{psp_url}/_sandbox/state", timeout=5).json()
        return sum(state["refund_requests"].values())

    before = requests()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if requests() > before:
            return True
        time.sleep(0.02)
    return False


def _inject_fault(psp_url: str, fault: str, injected: Counter[str]) -> None:
    """Have the gateway refuse (or accept, then fail) the next refund. Only set from 0,
    so the count of faults the gateway used stays exact."""
    current = httpx.get(f"{psp_url}/_sandbox/state").json()["faults"][fault]
    if current == 0:
        httpx.post(f"{psp_url}/_sandbox/faults", json={fault: 1}).raise_for_status()
        injected[fault] += 1


def _drain(
    engine: sa.Engine, receiver: ListenerState, workers: list[Service], seed: int, psp_url: str
) -> None:
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        # The gateway first: an event it has delivered left its outbox message before the
        # API answered, so the database, read after, shows that message.
        waiting = _gateway_events_waiting(psp_url) + _still_waiting(engine, receiver)
        if not waiting:
            return
        for worker in workers:
            if not worker.running:
                raise AssertionError(f"{worker.name} exited while draining:\n{worker.log_tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(
                f"seed {seed}: not drained after {DRAIN_SECONDS} s: {'; '.join(waiting)}"
            )
        time.sleep(0.2)


def _gateway_events_waiting(psp_url: str) -> list[str]:
    """The gateway's refund events still on their way to the API (it was killed, say): each
    one that arrives leaves the worker work, which must be done before the checks."""
    deliveries = httpx.get(f"{psp_url}/_sandbox/state").json()["events"]["deliveries"]
    waiting = [delivery["event_id"] for delivery in deliveries if delivery["state"] == "pending"]
    return [f"{len(waiting)} gateway events not delivered yet"] if waiting else []


def _still_waiting(engine: sa.Engine, receiver: ListenerState) -> list[str]:
    with engine.connect() as connection:
        outbox = connection.execute(
            sa.select(
                message_tables.outbox_messages.c.topic, message_tables.outbox_messages.c.last_error
            ).where(message_tables.outbox_messages.c.state == "pending")
        ).all()
        deliveries = connection.execute(
            sa.select(sa.func.count()).where(webhook_tables.webhook_deliveries.c.state == "pending")
        ).scalar_one()
        refunds = connection.execute(
            sa.select(order_tables.refunds.c.id, order_tables.refunds.c.status).where(
                order_tables.refunds.c.status.not_in(SETTLED_REFUND_STATUSES)
            )
        ).all()
        events = set(connection.execute(sa.select(webhook_tables.webhook_events.c.id)).scalars())
    received = {item.webhook_id for item in receiver.delivered()}
    waiting = []
    if outbox:
        waiting.append(f"outbox {[(row.topic, row.last_error) for row in outbox]}")
    if deliveries:
        waiting.append(f"{deliveries} webhook deliveries pending")
    if refunds:
        waiting.append(f"refunds not settled {[(str(r.id), r.status) for r in refunds]}")
    missing = {str(event) for event in events} - received
    if missing:
        waiting.append(f"{len(missing)} events not received yet")
    return waiting


# --------------------------------------------------------------------- checks
@dataclass(frozen=True, slots=True)
class Database:
    orders: dict[str, sa.Row[Any]]
    refunds: dict[str, sa.Row[Any]]
    events: dict[str, sa.Row[Any]]
    deliveries: list[sa.Row[Any]]
    outbox: list[sa.Row[Any]]


def _read_database(engine: sa.Engine) -> Database:
    with engine.connect() as connection:

        def rows(table: sa.Table) -> list[sa.Row[Any]]:
            return list(connection.execute(sa.select(table)).all())

        return Database(
            orders={str(row.id): row for row in rows(order_tables.orders)},
            refunds={str(row.id): row for row in rows(order_tables.refunds)},
            events={str(row.id): row for row in rows(webhook_tables.webhook_events)},
            deliveries=rows(webhook_tables.webhook_deliveries),
            outbox=rows(message_tables.outbox_messages),
        )


def _check(
    report: RunReport,
    records: list[Json],
    database: Database,
    psp: Json,
    receiver: ListenerState,
    injected: Counter[str],
) -> None:
    problems = report.problems
    summary = next((record for record in records if record["op"] == "summary"), None)
    if summary is None:
        problems.append("the client's journal has no summary: it did not finish")
        return
    counted = ("requests", "retried", "replayed", "transport_errors", "server_errors", "conflicts")
    for name in counted:
        setattr(report, name, summary[name])
    report.refusals = summary["refusals"]
    ops = [record for record in records if record["op"] not in ("summary", "refused")]
    problems.extend(
        f"unexpected refusal of {record['of']} on order {record['order_id']}: "
        f"{record['status']} {record['type']}: {record['detail']}"
        for record in records
        if record["op"] == "refused" and not record["expected"]
    )
    placed = {record["order_id"]: record for record in records if record["op"] == "order"}
    report.orders = len(placed)
    for order_id, record in placed.items():
        if record["total"] != record["expected_total"]:
            problems.append(f"order {order_id} total {record['total']} != {record}")
    _check_refund_attribution(report, ops, database)
    _check_refunds_at_the_gateway(report, database, psp, placed)
    _check_voids(report, ops, database, psp, placed)
    _check_webhooks(report, database, receiver, ops)
    consumed = sum(injected.values()) - sum(psp["faults"][name] for name in injected)
    report.faults_consumed = consumed
    if report.refunds_failed != consumed:
        failed = [
            (refund_id, row.failure_reason)
            for refund_id, row in database.refunds.items()
            if row.status == "failed"
        ]
        problems.append(
            f"{report.refunds_failed} refunds failed but the gateway refused or failed "
            f"{consumed} (injected {dict(injected)}): {failed}"
        )


def _check_refund_attribution(report: RunReport, ops: list[Json], database: Database) -> None:
    """Each accepted request made the refunds it should, once; and no refund exists that
    no accepted request made (a retry that made a second one would show here)."""
    problems = report.problems
    made_by: dict[str, Json] = {}
    for op in ops:
        new = op.get("new_refunds", [])
        if op["op"] == "refund" and new != [op["refund_id"]]:
            report.duplicate_refunds += max(len(new) - 1, 0)
            problems.append(f"refund request {op['key']} answered {op['refund_id']}, made {new}")
        elif op["op"] in ("cancel", "cancel_item") and len(new) > 1:
            report.duplicate_refunds += len(new) - 1
            problems.append(f"{op['op']} {op['key']} made {len(new)} refunds: {new}")
        elif op["op"] in ("capture", "fulfil") and new:
            problems.append(f"{op['op']} {op['key']} made refunds {new}")
        for refund_id in new:
            if refund_id in made_by:
                problems.append(f"refund {refund_id} seen as new twice")
            made_by[refund_id] = op
    unknown = sorted(set(database.refunds) - set(made_by))
    if unknown:
        report.duplicate_refunds += len(unknown)
        problems.append(f"refunds no accepted request made (duplicates?): {unknown}")
    for refund_id, op in made_by.items():
        row = database.refunds.get(refund_id)
        if row is None:
            problems.append(f"refund {refund_id} accepted by {op['key']} is not in the database")
            continue
        expected_kind = "refund" if op["op"] == "refund" else "cancellation"
        if row.kind != expected_kind:
            problems.append(f"refund {refund_id} of {op['key']} is a {row.kind}")
        if op["op"] == "refund" and row.amount != op["amount"]:
            problems.append(f"refund {refund_id}: {row.amount} stored, {op['amount']} answered")
    report.refunds = len(database.refunds)
    for refund_id, row in database.refunds.items():
        if row.status == "completed":
            report.refunds_completed += 1
        elif row.status == "failed":
            report.refunds_failed += 1
            if not row.failure_reason:
                problems.append(f"refund {refund_id} failed without a reason")
        else:
            problems.append(f"refund {refund_id} is stuck {row.status}")
    for message in database.outbox:
        if message.state != "done":
            problems.append(f"outbox {message.topic} {message.state}: {message.last_error}")


def _check_refunds_at_the_gateway(
    report: RunReport, database: Database, psp: Json, placed: Mapping[str, Json]
) -> None:
    """Exactly once at the gateway, with the right amount, against the right payment;
    and per order nothing beyond the capture, here or there."""
    problems = report.problems
    at_gateway: dict[str, list[Json]] = defaultdict(list)
    for refund in psp["refunds"]:
        at_gateway[refund["metadata"].get("refundry_refund_id", "")].append(refund)
    requests: dict[str, int] = psp["refund_requests"]
    report.psp_refunds = len(psp["refunds"])
    report.psp_refund_requests = sum(requests.values())
    for refund_id in sorted(set(at_gateway) - set(database.refunds)):
        problems.append(f"the gateway paid a refund Refundry does not know: {refund_id}")
        report.duplicate_refunds += len(at_gateway[refund_id])
    intents = {intent["id"]: intent for intent in psp["payment_intents"]}
    completed_by_order: Counter[str] = Counter()
    counted_by_order: Counter[str] = Counter()
    for refund_id, row in database.refunds.items():
        order = database.orders[str(row.order_id)]
        paid = at_gateway.get(refund_id, [])
        if len(paid) > 1:
            report.duplicate_refunds += len(paid) - 1
            problems.append(f"refund {refund_id} paid {len(paid)} times at the gateway: {paid}")
        if row.status != "failed":
            counted_by_order[str(row.order_id)] += row.amount
        if requests.get(refund_id, 0) < 1:
            problems.append(f"refund {refund_id} ({row.status}) never reached the gateway")
        if row.status == "completed":
            completed_by_order[str(row.order_id)] += row.amount
            if len(paid) != 1:
                problems.append(f"completed refund {refund_id} paid {len(paid)} times")
                continue
            [gateway_refund] = paid
            expected = {
                "status": "succeeded",
                "amount": row.amount,
                "payment_intent": order.payment_reference,
                "id": row.provider_reference,
            }
            found = {name: gateway_refund[name] for name in expected}
            if found != expected:
                problems.append(f"refund {refund_id}: gateway {found} != ours {expected}")
        elif row.status == "failed" and any(r["status"] != "failed" for r in paid):
            problems.append(f"refund {refund_id} failed here but not at the gateway: {paid}")
    for order_id, row in database.orders.items():
        if counted_by_order[order_id] > row.captured:
            problems.append(
                f"order {order_id} refunds {counted_by_order[order_id]} > captured {row.captured}"
            )
        intent = intents.get(row.payment_reference or "")
        if intent is None:
            problems.append(f"order {order_id} has no payment intent at the gateway")
            continue
        gateway = (intent["amount_received"], intent["amount_refunded"])
        ours = (row.captured, completed_by_order[order_id])
        if gateway != ours:
            problems.append(
                f"order {order_id}: gateway (captured, refunded) {gateway} != ours {ours}"
            )
        if placed.get(order_id, {}).get("payment_intent") != row.payment_reference:
            problems.append(f"order {order_id} not placed by the client with its intent")


def _check_voids(
    report: RunReport, ops: list[Json], database: Database, psp: Json, placed: Mapping[str, Json]
) -> None:
    intents = {intent["id"]: intent for intent in psp["payment_intents"]}
    for op in ops:
        if op["op"] != "cancel" or op["captured"] != 0:
            continue
        report.voids += 1
        order = database.orders[op["order_id"]]
        intent = intents[placed[op["order_id"]]["payment_intent"]]
        if (order.authorization_state, intent["status"]) != ("voided", "canceled"):
            report.problems.append(
                f"cancelled hold of order {op['order_id']}: {order.authorization_state} here, "
                f"{intent['status']} at the gateway"
            )


def _check_webhooks(
    report: RunReport, database: Database, receiver: ListenerState, ops: list[Json]
) -> None:
    """Every event delivered at least once, signed, byte for byte the same each time;
    and every refund's making and its final status were told."""
    problems = report.problems
    received = receiver.delivered()
    report.events = len(database.events)
    report.deliveries_received = len(received)
    bodies: dict[str, set[bytes]] = defaultdict(set)
    for item in received:
        if not item.verified:
            problems.append(f"delivery {item.webhook_id} did not verify")
        bodies[item.webhook_id].add(item.body)
    copies = Counter(item.webhook_id for item in received)
    report.duplicate_deliveries = sum(count - 1 for count in copies.values())
    missing = sorted(set(database.events) - set(bodies))
    if missing:
        problems.append(f"{len(missing)} events never delivered: {missing}")
    strangers = sorted(set(bodies) - set(database.events))
    if strangers:
        problems.append(f"deliveries of events not in the database: {strangers}")
    for event_id, seen in bodies.items():
        if len(seen) > 1:
            problems.append(f"event {event_id} delivered with {len(seen)} different bodies")
        stored = database.events.get(event_id)
        if stored is not None and seen != {stored.payload.encode()}:
            problems.append(f"event {event_id} delivered with a body other than the stored one")
    for delivery in database.deliveries:
        if delivery.state != "delivered":
            problems.append(f"delivery of event {delivery.event_id} is {delivery.state}")
    told: dict[str, list[Json]] = defaultdict(list)
    for event in database.events.values():
        data = json.loads(event.payload)["data"]
        if data.get("refund"):
            told[data["refund"]["id"]].append(data)
    key_of = {refund_id: op["key"] for op in ops for refund_id in op.get("new_refunds", [])}
    for refund_id, row in database.refunds.items():
        stories = told.get(refund_id, [])
        if not any(data["refund"]["status"] == row.status for data in stories):
            problems.append(f"no event told refund {refund_id} became {row.status}")
        if key_of.get(refund_id) not in {data.get("idempotency_key") for data in stories}:
            problems.append(f"no event of refund {refund_id} carries {key_of.get(refund_id)}")


def _tracebacks(service: Service) -> list[str]:
    """A SIGKILL leaves no traceback: any in a log is an error the system did not expect
    (a job that failed and was retried still hides a bug)."""
    log = service.log_path.read_text(errors="replace")
    count = log.count("Traceback (most recent call last)")
    if not count:
        return []
    first = log.index("Traceback (most recent call last)")
    return [
        f"{count} tracebacks in the {service.name} log; the first:\n{log[first : first + 2500]}"
    ]


def _verify(database_url: str, report: RunReport) -> str:
    """``refundry verify``: the ledger verifier must find no drift."""
    result = subprocess.run(
        [venv_script("refundry"), "verify"],
        env={**os.environ, "REFUNDRY_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=VERIFY_SECONDS,
        check=False,
    )
    if result.returncode == 0:
        return "ok"
    report.problems.append(
        f"refundry verify exited {result.returncode}:\n{result.stdout[-3000:]}"
        f"{result.stderr[-3000:]}"
    )
    return f"exit {result.returncode}"


# -------------------------------------------------------------------- figures
def record(report: RunReport) -> None:
    """Append a run's figures to ``REFUNDRY_CRASH_REPORT`` (JSON lines), when set."""
    path = os.environ.get("REFUNDRY_CRASH_REPORT")
    if path:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(report)) + "\n")


def totals(path: Path) -> Json:
    """The figures of every run recorded in ``path``, added up."""
    reports = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    databases = Counter(report["database"] for report in reports)
    summed: Json = {"runs": len(reports), "by_database": dict(databases)}
    for name, value in reports[0].items() if reports else ():
        if isinstance(value, int | float) and name != "seed":
            summed[name] = round(sum(r[name] for r in reports), 1)
    summed["verify"] = dict(Counter(r["verify"] for r in reports))
    summed["refusals"] = dict(sum((Counter(r["refusals"]) for r in reports), Counter[str]()))
    summed["problems"] = sum(len(r["problems"]) for r in reports)
    return summed


def new_base_seed() -> int:
    return uuid.uuid4().int % 1_000_000
