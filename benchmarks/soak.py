"""Memory over a long run: ``python -m benchmarks.soak --minutes 10 [--postgres URL]``.

Starts the whole system on a fresh database as an operator would: the API under uvicorn
(several workers), ``refundry worker``, the sandbox card gateway it sends refunds to,
and a webhook receiver (``refundry webhooks listen``) registered as the merchant's
endpoint. A separate process then plays shoppers and support staff for the whole time,
each connection in a loop: ingest an order, preview a partial refund, make it, read the
order, ingest another and cancel it. Every few seconds the resident memory (VmRSS in
/proc) of the server's processes and of the worker is read.

It prints, per process group: RSS at the start (after the warm-up, --warmup seconds),
at the end and at its largest, and the growth from start to end; the requests made and
the unexpected answers; and what the worker did meanwhile (refunds settled, webhooks
delivered). It fails on any unexpected answer; memory is reported, not judged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.connection
import os
import sys
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa

from benchmarks.databases import fresh_postgres, fresh_sqlite
from benchmarks.http_load import Connection, request_bytes
from benchmarks.http_scenarios import ORDER_TEMPLATE
from benchmarks.http_server import (
    BIN,
    api_server,
    background,
    children,
    database_name,
    free_port,
    log,
    machine_line,
    prepare,
    rss_mb,
)
from refundry.adapters.db.engine import create_engine
from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import webhooks as webhook_tables


@dataclass(slots=True)
class Traffic:
    statuses: Counter[str] = field(default_factory=Counter)  # "step status" -> count
    failures: list[str] = field(default_factory=list)


async def _shopper(port: int, key: str, deadline: float, traffic: Traffic, number: int) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    connection = Connection(port)
    round_number = 0

    async def post(
        step: str, path: str, body: dict[str, object], expected: int
    ) -> dict[str, object]:
        headers = {**auth, "Idempotency-Key": f"{number}-{round_number}-{step}-{uuid.uuid4().hex}"}
        data = json.dumps(body).encode()
        status, answer = await connection.send(request_bytes("POST", path, headers, data))
        traffic.statuses[f"{step} {status}"] += 1
        if status != expected:
            if len(traffic.failures) < 5:
                traffic.failures.append(f"{step}: {status} {answer[:200]!r}")
            return {}
        parsed: dict[str, Any] = json.loads(answer)
        return parsed

    while time.monotonic() < deadline:
        round_number += 1
        external = f"soak-{number}-{round_number}-{uuid.uuid4().hex[:6]}"
        body = {**ORDER_TEMPLATE, "external_id": external}
        order = await post("ingest", "/v1/orders", body, 201)
        if order:
            line = order["lines"][0]["id"]
            partial = {"lines": [{"line_id": line, "quantity": 1}]}
            await post("preview", f"/v1/orders/{order['id']}/refund/preview", partial, 200)
            await post("refund", f"/v1/orders/{order['id']}/refund", partial, 201)
            status, _ = await connection.send(
                request_bytes("GET", f"/v1/orders/{order['id']}", auth)
            )
            traffic.statuses[f"read {status}"] += 1
        other = await post(
            "ingest", "/v1/orders", {**ORDER_TEMPLATE, "external_id": external + "-c"}, 201
        )
        if other:
            await post("cancel", f"/v1/orders/{other['id']}/cancel", {"reason": "Soak"}, 200)
    await connection.close()


def _load(
    port: int,
    key: str,
    seconds: float,
    concurrency: int,
    pipe: multiprocessing.connection.Connection,
) -> None:
    import uvloop

    traffic = Traffic()
    deadline = time.monotonic() + seconds

    async def run() -> None:
        await asyncio.gather(
            *(_shopper(port, key, deadline, traffic, number) for number in range(concurrency))
        )

    uvloop.run(run())
    pipe.send(traffic)


@dataclass(slots=True)
class Series:
    name: str
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MB)

    def summary(self, warmup: float) -> str:
        settled = [mb for at, mb in self.samples if at >= warmup] or [mb for _, mb in self.samples]
        start, end, peak = settled[0], settled[-1], max(mb for _, mb in self.samples)
        first = self.samples[0][1]
        growth = (end - start) / start * 100
        return (
            f"| {self.name} | {first:.0f} | {start:.0f} | {end:.0f} | {peak:.0f} | {growth:+.1f}% |"
        )


def worker_figures(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            refunds = dict(
                connection.execute(
                    sa.select(order_tables.refunds.c.status, sa.func.count()).group_by(
                        order_tables.refunds.c.status
                    )
                ).all()
            )
            deliveries = dict(
                connection.execute(
                    sa.select(webhook_tables.webhook_deliveries.c.state, sa.func.count()).group_by(
                        webhook_tables.webhook_deliveries.c.state
                    )
                ).all()
            )
    finally:
        engine.dispose()
    return f"refunds by status {refunds}; webhook deliveries by state {deliveries}"


def soak(url: str, args: argparse.Namespace) -> bool:
    shop = prepare(url)
    workers = args.sqlite_workers if url.startswith("sqlite") else args.workers
    psp_port, hook_port = free_port(), free_port()
    env = {
        "REFUNDRY_DATABASE_URL": url,
        "REFUNDRY_SANDBOX_PSP_URL": f"http://127.0.0.1:{psp_port}",
        "REFUNDRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",  # the receiver is on loopback
    }
    with ExitStack() as stack:
        stack.enter_context(
            background([str(BIN / "refundry"), "sandbox-psp", "--port", str(psp_port)], env)
        )
        server = stack.enter_context(api_server(url, workers, env))
        with httpx.Client(
            base_url=server.base, headers={"Authorization": f"Bearer {shop.api_key}"}
        ) as http:
            created = http.post(
                "/v1/webhook-endpoints",
                json={"url": f"http://127.0.0.1:{hook_port}/webhooks",
                      "enabled_events": ["cancelled", "refunded", "refund.updated"]},
            )  # fmt: skip
            created.raise_for_status()
        secret = created.json()["secret"]
        stack.enter_context(
            background(
                [str(BIN / "refundry"), "webhooks", "listen", "--secret", secret,
                 "--port", str(hook_port)],
                env,
            )
        )  # fmt: skip
        worker = stack.enter_context(
            background([str(BIN / "refundry"), "worker", "--interval", "0.5"], env)
        )
        seconds = args.minutes * 60
        context = multiprocessing.get_context("spawn")
        receiving, sending = context.Pipe(duplex=False)
        load = context.Process(
            target=_load, args=(server.port, shop.api_key, seconds, args.concurrency, sending)
        )
        load.start()
        sending.close()
        server_series = Series("API server (uvicorn, all processes)")
        worker_series = Series("`refundry worker`")
        per_process: dict[int, Series] = {}
        started = time.monotonic()
        log(f"soaking for {args.minutes} min; RSS every {args.sample_seconds} s")
        while load.is_alive():
            at = time.monotonic() - started
            pids = [server.process.pid, *children(server.process.pid)]
            server_series.samples.append((at, rss_mb(pids)))
            for pid in pids[1:]:
                per_process.setdefault(pid, Series(f"  server process {pid}")).samples.append(
                    (at, rss_mb([pid]))
                )
            worker_series.samples.append((at, rss_mb([worker.pid])))
            load.join(timeout=args.sample_seconds)
        traffic: Traffic = receiving.recv()
        time.sleep(2)  # let the worker finish the round it is in
        done = worker_figures(url)
    total = sum(traffic.statuses.values())
    unexpected = {
        step: count
        for step, count in traffic.statuses.items()
        if step.split()[1] not in ("200", "201")
    }
    print(f"machine: {machine_line([database_name(url)])}")
    print(f"command: python -m benchmarks.soak {' '.join(sys.argv[1:])}")
    print(
        f"load: {args.concurrency} connections for {args.minutes} min, {workers} uvicorn "
        f"workers; {total:,} requests ({total / seconds:,.0f}/s): {dict(traffic.statuses)}"
    )
    print(f"worker: {done}\n")
    print(f"RSS in MB; start = first sample after {args.warmup:.0f} s of warm-up\n")
    print("| process | at 0 s | start | end | max | growth start to end |")
    print("|---|---:|---:|---:|---:|---:|")
    for series in (server_series, *per_process.values(), worker_series):
        print(series.summary(args.warmup))
    if unexpected:
        print(f"\nFAILED: unexpected answers {unexpected}; {traffic.failures}")
    return not unexpected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--postgres", default=os.environ.get("REFUNDRY_BENCH_POSTGRES_URL"))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sqlite-workers", type=int, default=1)
    parser.add_argument("--sample-seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=60, help="seconds before 'start'")
    args = parser.parse_args()
    with fresh_postgres(args.postgres) if args.postgres else fresh_sqlite() as url:
        ok = soak(url, args)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
