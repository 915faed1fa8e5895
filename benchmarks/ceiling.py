"""The framework ceiling: a keyed partial refund against the least a FastAPI write costs.

Three scenarios take turns in parts (``interleaved``), so they share the machine's mood:
the bare app's one INSERT (``bare_app``), the API's own baseline (``/v1/_bench/rows``: one
INSERT through Refundry's stack) and the keyed partial refund of a 3-line order (as in
scenario 4: every request its own order and Idempotency-Key). No worker runs meanwhile.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg

from benchmarks.bare_app import CONNINFO_ENV, TABLE_DDL
from benchmarks.databases import analyze, libpq
from benchmarks.http_load import PhaseResult, run_phase
from benchmarks.http_scenarios import (
    Client,
    Outcome,
    PlacedOrder,
    Row,
    Settings,
    Stream,
    count_unexpected,
    interleaved,
    placed_orders,
)
from benchmarks.http_server import Server, Shop, api_server, log

BARE_APP = "benchmarks.bare_app:create_app"
SCENARIOS = ("bare FastAPI: one INSERT", "baseline: one INSERT", "keyed partial refund")


@dataclass(frozen=True, slots=True)
class Ceiling:
    rows: list[Row]  # in the order of SCENARIOS

    def ratio(self) -> tuple[float, float] | None:
        """The refund's rate over the bare app's, and its p99 over the bare app's p99."""
        bare, _, refund = self.rows
        if not (bare.per_second and refund.per_second and bare.p99_ms and refund.p99_ms):
            return None
        return refund.per_second / bare.per_second, refund.p99_ms / bare.p99_ms


def run_ceiling(
    api: Server, shop: Shop, url: str, database: str, settings: Settings, workers: int
) -> tuple[Ceiling, list[str]]:
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        connection.execute(TABLE_DDL)
    run = uuid.uuid4().hex[:8]
    client = Client(api, shop, run, settings.skus)
    outcome = Outcome()
    count = settings.requests + settings.warmup
    log(f"  {database}: ceiling: {count} orders to refund (untimed)")
    made = run_phase(
        client.phase("orders", [client.order(i) for i in range(count)], settings, warmup=0,
                     keep_bodies=True)
    )  # fmt: skip
    count_unexpected(made, 201, "ceiling: orders", outcome)
    orders = placed_orders(made)
    analyze(url)

    def refund(order: PlacedOrder) -> bytes:
        body = {"lines": [{"line_id": order.line_ids[0], "quantity": 1}], "reason": "Chipped"}
        return client.post(f"/v1/orders/{order.id}/refund", body, f"ceiling-{order.id}")

    env = {CONNINFO_ENV: libpq(url)}
    with api_server(url, workers, env, app=BARE_APP) as bare_server:
        bare = Client(bare_server, shop, run, settings.skus)
        log(f"  {database}: ceiling: bare app, baseline and refund, in turns")
        warm = [bare.post("/rows", None, f"warm-{i}") for i in range(max(settings.warmup, 50))]
        run_phase(bare.phase("warm-up", warm, settings, warmup=0))
        streams = [
            Stream(bare, SCENARIOS[0], [bare.post("/rows", {"note": "bare"}, f"bare-{i}")
                                        for i in range(count)]),
            Stream(client, SCENARIOS[1], [client.post("/v1/_bench/rows", {"note": "base"},
                                                      f"base-{i}") for i in range(count)]),
            Stream(client, SCENARIOS[2], [refund(order) for order in orders]),
        ]  # fmt: skip
        results = interleaved(settings, streams)
    rows = [_row(result, database, outcome) for result in results]
    return Ceiling(rows), outcome.failures


def _row(result: PhaseResult, database: str, outcome: Outcome) -> Row:
    errors = count_unexpected(result, 201, f"ceiling: {result.name}", outcome)
    return Row.of(result.name, database, result, errors)
