"""Where a request's time goes in the server: ``python -m benchmarks.profile_http``.

Starts the API under uvicorn with one worker process on a fresh database (PostgreSQL
with --postgres, else SQLite), makes the orders the scenario needs, then samples that
process with py-spy (``pip install py-spy``; not a project dependency) while the load
generator sends the scenario's requests. Idle threads are sampled too (--idle), so time
spent waiting on the database shows. It prints the functions with the largest share of
the samples taken inside request handlers (inclusive, and self), and keeps the raw
stacks (``--out``, py-spy's collapsed format) for a flame graph.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.databases import fresh_postgres, fresh_sqlite
from benchmarks.http_load import run_phase
from benchmarks.http_scenarios import Client, PlacedOrder, Settings, placed_orders
from benchmarks.http_server import api_server, log, prepare

# A stack is in a request when it is in a thread of the pool that runs endpoints (and
# their dependencies), and not that thread waiting for work.
IN_REQUEST = "WorkerThread.run"
IDLE = "Queue.get (queue.py"


def requests_for(client: Client, scenario: str, count: int, settings: Settings) -> list[bytes]:
    if scenario == "baseline":
        return [client.post("/v1/_bench/rows", None, f"b-{i}") for i in range(count)]
    if scenario == "ingest":
        return [client.order(i) for i in range(count)]
    made = run_phase(
        client.phase("orders", [client.order(i) for i in range(count)], settings, keep_bodies=True)
    )
    orders = placed_orders(made)

    def partial(order: PlacedOrder) -> dict[str, Any]:
        return {"lines": [{"line_id": order.line_ids[0], "quantity": 1}]}

    path, body = {
        "preview": ("/refund/preview", partial),
        "refund": ("/refund", partial),
        "cancel": ("/cancel", lambda o: {"reason": "Customer changed their mind"}),
    }[scenario]
    return [client.post(f"/v1/orders/{o.id}{path}", body(o), f"{scenario}-{o.id}") for o in orders]


def summarize(raw: Path, top: int, *, everything: bool = False) -> None:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not everything and (IN_REQUEST not in stack or IDLE in stack):
            continue
        count = int(count_text)
        total += count
        frames = [frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0] + ")"
                  for frame in stack.split(";")]  # fmt: skip
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    print(f"{total} samples{'' if everything else ' inside request handlers'}")
    print("\ninclusive share:")
    for frame, count in inclusive.most_common(top):
        print(f"  {count / total:6.1%}  {frame}")
    print("\nself share:")
    for frame, count in own.most_common(top):
        print(f"  {count / total:6.1%}  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=None)
    parser.add_argument(
        "--scenario", choices=["baseline", "ingest", "preview", "refund", "cancel"],
        default="refund",
    )  # fmt: skip
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument(
        "--cpu", action="store_true", help="only samples holding the GIL (CPU), not waits"
    )
    parser.add_argument("--out", type=Path, default=Path("profile.raw.txt"))
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    settings = Settings(args.requests, 0, args.concurrency, 0, 1)
    with fresh_postgres(args.postgres) if args.postgres else fresh_sqlite() as url:
        shop = prepare(url)
        with api_server(url, 1) as server:
            client = Client(server, shop, uuid.uuid4().hex[:8])
            requests = requests_for(client, args.scenario, args.requests, settings)
            log(f"profiling {len(requests)} {args.scenario} requests (pid {server.process.pid})")
            recorder = subprocess.Popen(
                [spy, "record", "--pid", str(server.process.pid), "--rate", "250",
                 "--gil" if args.cpu else "--idle", "--format", "raw", "--output", str(args.out),
                 "--nonblocking"],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                result = run_phase(client.phase(args.scenario, requests, settings, warmup=0))
            finally:
                os.kill(recorder.pid, signal.SIGINT)
                recorder.wait(timeout=60)
    print(
        f"{result.count} {args.scenario} requests: {result.per_second:.0f}/s, "
        f"p50 {result.median * 1000:.1f} ms, statuses {dict(result.status_counts())}"
    )
    summarize(args.out, args.top, everything=args.cpu)


if __name__ == "__main__":
    main()
