"""Scenarios 1 to 6 of the HTTP benchmark, against one database: a running server is
loaded from a separate process (``http_load``), and every answer is checked.

The orders a phase works on are made before it (by the ingest phase, untimed for the
others), so each timed request touches a different order, as in a returns wave. Every
request carries its own Idempotency-Key, as clients are told to send.
"""

from __future__ import annotations

import json
import statistics
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa

from benchmarks.http_load import Phase, PhaseResult, request_bytes, run_phase
from benchmarks.http_server import Server, Shop, log
from refundry.adapters.db.engine import create_engine
from refundry.adapters.db.tables import orders as order_tables

# A 3-line order: two discounted mugs, a teapot, three teas, and shipping (13,046 cents).
ORDER_TEMPLATE: dict[str, Any] = {
    "currency": "EUR",
    "customer": {"email": "ana@example.com"},
    "lines": [
        {"sku": "MUG-STONE", "name": "Stoneware mug", "quantity": 2, "unit_price": 1290,
         "discount": 258, "tax": 464},
        {"sku": "POT-CAST", "name": "Cast-iron teapot", "quantity": 1, "unit_price": 5490,
         "tax": 1098},
        {"sku": "TEA-SENCHA", "name": "Sencha green tea 100 g", "quantity": 3, "unit_price": 890,
         "discount": 100, "tax": 514},
    ],
    "shipping": {"amount": 490, "tax": 98},
}  # fmt: skip
# Each line's product comes from a catalogue of this many: a returns wave spans a
# catalogue. Every order, cancel and restocking refund updates its products' stock rows,
# and a row stays locked until its transaction commits, so with one product for all the
# orders every write queues on it (see docs/performance.md); --skus 1 measures that.
CATALOGUE = 200
RACERS = 64
RACE_AMOUNT = 300  # 43 of 64 fit in the capture: the cap, not the racers, decides


@dataclass(frozen=True, slots=True)
class Settings:
    requests: int  # timed requests a scenario
    warmup: int  # untimed requests a scenario, spread over its parts
    concurrency: int
    race_rounds: int
    parts: int  # each scenario runs in this many parts, each after a part of the baseline
    skus: int = CATALOGUE


@dataclass(slots=True)
class Row:
    scenario: str
    database: str
    count: int
    per_second: float | None
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    note: str = ""
    # The baseline's figures from the parts run alternately with this scenario's.
    baseline_per_second: float | None = None
    baseline_p99_ms: float | None = None

    @classmethod
    def of(cls, scenario: str, database: str, result: PhaseResult, errors: int) -> Row:
        return cls(
            scenario,
            database,
            result.count,
            result.per_second,
            result.median * 1000,
            result.percentile(0.99) * 1000,
            errors,
        )


@dataclass(slots=True)
class Outcome:
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    over_refunds: int = 0


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    id: str
    line_ids: tuple[str, ...]
    captured: int


class Client:
    """Prepared requests for one server and merchant."""

    def __init__(self, server: Server, shop: Shop, run: str, skus: int = CATALOGUE) -> None:
        self.server = server
        self.run = run
        self.skus = skus
        self._auth = {"Authorization": f"Bearer {shop.api_key}"}

    def post(self, path: str, body: dict[str, Any] | None, key: str | None) -> bytes:
        headers = dict(self._auth)
        if key is not None:
            headers["Idempotency-Key"] = f"{self.run}-{key}"
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        return request_bytes("POST", path, headers, data)

    def order(self, number: int, payment: dict[str, Any] | None = None) -> bytes:
        product = number % self.skus
        lines = [{**line, "sku": f"{line['sku']}-{product}"} for line in ORDER_TEMPLATE["lines"]]
        body = {**ORDER_TEMPLATE, "lines": lines, "external_id": f"{self.run}-{number}"}
        if payment is not None:
            body["payment"] = payment
        return self.post("/v1/orders", body, f"order-{number}")

    def phase(self, name: str, requests: list[bytes], settings: Settings, **extra: Any) -> Phase:
        return Phase(
            name,
            self.server.port,
            requests,
            concurrency=extra.pop("concurrency", settings.concurrency),
            warmup=extra.pop("warmup", settings.warmup),
            **extra,
        )

    def sync(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.base, headers=self._auth, timeout=60)


def count_unexpected(result: PhaseResult, expected: int, name: str, outcome: Outcome) -> int:
    counts = result.status_counts()
    errors = sum(n for status, n in counts.items() if status != expected)
    if errors:
        outcome.failures.append(f"{name}: answers {dict(counts)}; {result.failures[:3]}")
    return errors


def placed_orders(result: PhaseResult) -> list[PlacedOrder]:
    placed = []
    for body in result.bodies:
        try:
            order = json.loads(body)
            placed.append(
                PlacedOrder(
                    order["id"], tuple(line["id"] for line in order["lines"]), order["captured"]
                )
            )
        except (ValueError, KeyError):
            continue  # counted as an error from its status already
    return placed


def merged(name: str, results: list[PhaseResult]) -> PhaseResult:
    return PhaseResult(
        name,
        sum(result.count for result in results),
        sum(result.seconds for result in results),
        [latency for result in results for latency in result.latencies],
        [status for result in results for status in result.statuses],
        [body for result in results for body in result.bodies],
        [failure for result in results for failure in result.failures][:5],
    )


@dataclass(frozen=True, slots=True)
class Stream:
    """One scenario's requests for ``interleaved``, sent by ``client`` (to its server)."""

    client: Client
    label: str
    requests: list[bytes]
    keep_bodies: bool = False


def interleaved(settings: Settings, streams: list[Stream]) -> list[PhaseResult]:
    """The streams in parts, taking turns (a part of the first, of the second, ..., then
    the next parts): this machine is shared and its speed drifts by tens of percent
    within minutes, so scenarios are compared only as they ran at the same time. The
    first requests of every part (``warmup`` in all) are not timed. One result a stream."""
    parts: list[list[PhaseResult]] = [[] for _ in streams]
    warm = settings.warmup // settings.parts
    for part in range(settings.parts):
        for stream, results in zip(streams, parts, strict=True):
            size = -(-len(stream.requests) // settings.parts)
            chunk = stream.requests[part * size : (part + 1) * size]
            if not chunk:
                continue
            phase = stream.client.phase(
                stream.label, chunk, settings, warmup=min(warm, len(chunk) - 1),
                keep_bodies=stream.keep_bodies,
            )  # fmt: skip
            results.append(run_phase(phase))
    return [merged(stream.label, results) for stream, results in zip(streams, parts, strict=True)]


def alternately(
    client: Client, settings: Settings, label: str, requests: list[bytes], keep_bodies: bool
) -> tuple[PhaseResult, PhaseResult]:
    """``requests`` in parts, each right after as many baseline requests (``interleaved``)."""
    baseline = [client.post("/v1/_bench/rows", {"note": label}, f"{label}-base-{i}")
                for i in range(len(requests))]  # fmt: skip
    first, second = interleaved(
        settings,
        [Stream(client, "baseline", baseline), Stream(client, label, requests, keep_bodies)],
    )
    return first, second


def run_scenarios(
    server: Server, shop: Shop, url: str, database: str, settings: Settings
) -> Outcome:
    client = Client(server, shop, uuid.uuid4().hex[:8], settings.skus)
    outcome = Outcome()
    n, w = settings.requests, settings.warmup
    with client.sync() as http:
        # Deliveries are owed to an endpoint, as for a merchant that subscribed (no worker
        # runs during these phases, so nothing is sent).
        http.post(
            "/v1/webhook-endpoints",
            # .invalid never resolves (RFC 2606): a public-looking URL nobody answers at
            json={"url": "https://hooks.invalid/", "enabled_events": ["cancelled", "refunded"]},
        ).raise_for_status()
    log(f"  {database}: warming up")
    warm = [client.post("/v1/_bench/rows", None, f"warm-{i}") for i in range(max(w, 50))]
    run_phase(client.phase("warm-up", warm, settings, warmup=0))
    baselines: list[PhaseResult] = []

    def scenario(name: str, label: str, requests: list[bytes], expected: int) -> PhaseResult:
        log(f"  {database}: {name}")
        baseline, result = alternately(client, settings, label, requests, label == "ingest")
        baselines.append(baseline)
        count_unexpected(baseline, 201, f"baseline beside {label}", outcome)
        row = Row.of(name, database, result, count_unexpected(result, expected, label, outcome))
        row.baseline_per_second = baseline.per_second
        row.baseline_p99_ms = baseline.percentile(0.99) * 1000
        row.note = (
            f"{row.per_second or 0:,.0f}/s against {baseline.per_second:,.0f}/s for the baseline "
            f"run alternately with it ({(row.per_second or 0) / (baseline.per_second or 1):.2f}x), "
            f"p99 {(row.p99_ms or 0) / (row.baseline_p99_ms or 1):.2f}x its p99"
        )
        outcome.rows.append(row)
        return result

    # Ingest: every order the later phases touch (half refunded, half cancelled).
    made = scenario("2. ingest order", "ingest", [client.order(i) for i in range(2 * (w + n))], 201)
    orders = placed_orders(made)
    refund_orders, cancel_orders = orders[: w + n], orders[w + n :]

    def partial(order: PlacedOrder) -> dict[str, Any]:
        return {"lines": [{"line_id": order.line_ids[0], "quantity": 1}]}

    for label, name, path, body, expected, batch in (
        ("preview", "3. refund preview", "/refund/preview", partial, 200, refund_orders),
        ("refund", "4. partial refund, 3-line order", "/refund",
         lambda o: {**partial(o), "reason": "Arrived chipped"}, 201, refund_orders),
        ("cancel", "5. cancel", "/cancel",
         lambda o: {"reason": "Customer changed their mind"}, 200, cancel_orders),
    ):  # fmt: skip
        requests = [
            client.post(f"/v1/orders/{order.id}{path}", body(order), f"{label}-{order.id}")
            for order in batch
        ]
        scenario(name, label, requests, expected)
    every = merged("baseline", baselines)
    errors = sum(n for status, n in every.status_counts().items() if status != 201)
    row = Row.of("1. baseline: one INSERT", database, every, errors)
    row.note = "all its parts, run alternately with scenarios 2 to 5"
    outcome.rows.insert(0, row)
    log(f"  {database}: {settings.race_rounds} rounds of {RACERS} racing refunds")
    race(client, url, database, settings, outcome)
    return outcome


def race(client: Client, url: str, database: str, settings: Settings, outcome: Outcome) -> None:
    """64 refunds of one order at once, on a fresh order each round; the cap must hold."""
    prepared = run_phase(
        client.phase(
            "race-orders",
            [client.order(10_000_000 + i) for i in range(settings.race_rounds)],
            settings,
            warmup=0,
            concurrency=1,
            keep_bodies=True,
        )
    )
    orders = placed_orders(prepared)
    if len(orders) != settings.race_rounds:
        outcome.failures.append(f"race: could not make its orders: {prepared.failures}")
        return
    engine = create_engine(url)
    settles: list[float] = []
    latencies: list[float] = []
    errors = refunded_total = 0
    try:
        for round_number, order in enumerate(orders):
            requests = [
                client.post(
                    f"/v1/orders/{order.id}/refund",
                    {"amount": RACE_AMOUNT, "reason": f"Race {round_number}"},
                    f"race-{order.id}-{i}",
                )
                for i in range(RACERS)
            ]
            result = run_phase(
                client.phase("race", requests, settings, warmup=0, concurrency=RACERS,
                             keep_bodies=True)
            )  # fmt: skip
            settles.append(result.seconds)
            latencies += result.latencies
            answered = 0
            for status, body in zip(result.statuses, result.bodies, strict=True):
                if status == 201:
                    answered += json.loads(body)["amount"]
                elif status != 409 or b"refund-exceeds-refundable" not in body:
                    errors += 1
                    if errors <= 3:
                        outcome.failures.append(f"race: answer {status}: {body[:200]!r}")
            with engine.connect() as connection:
                stored = connection.execute(
                    sa.select(
                        sa.func.coalesce(sa.func.sum(order_tables.refunds.c.amount), 0)
                    ).where(order_tables.refunds.c.order_id == uuid.UUID(order.id))
                ).scalar_one()
            with client.sync() as http:
                seen = http.get(f"/v1/orders/{order.id}").json()
            fits = min(RACERS, order.captured // RACE_AMOUNT) * RACE_AMOUNT
            if stored > order.captured or seen["refunded"] > order.captured:
                outcome.over_refunds += 1
            if not stored == seen["refunded"] == answered == fits:
                outcome.failures.append(
                    f"race: refunded {stored} in the database, {seen['refunded']} by the API, "
                    f"{answered} answered, {fits} expected (captured {order.captured})"
                )
            refunded_total = stored
    finally:
        engine.dispose()
    captured = orders[0].captured
    summary = PhaseResult("race", RACERS * len(orders), sum(settles), latencies, [])
    row = Row.of(f"6. {RACERS} racing refunds, one order", database, summary, errors)
    row.note = (
        f"settle {statistics.median(settles) * 1000:.0f} ms median, "
        f"{max(settles) * 1000:.0f} ms max of {len(settles)} rounds; "
        f"{refunded_total // RACE_AMOUNT} of {RACERS} refunded, total {refunded_total:,} of "
        f"{captured:,} captured; over-refunds {outcome.over_refunds}"
    )
    outcome.rows.append(row)
