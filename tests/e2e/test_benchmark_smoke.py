"""The benchmark of issue 9 keeps working: `python -m benchmarks --smoke` runs every
scenario with tiny counts, against SQLite and (when there is one) PostgreSQL.

No timing is asserted here (the machines are small and shared): only that the run ends
well, every request got the answer it should, and the racing refunds never refunded more
than the capture. Money out (``--only money``) runs one cell of its matrix on each
database (two workers on PostgreSQL): every refund must complete, once, as the sandbox
gateway has it.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_ENV, postgres_server_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def run_smoke(*arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    env.pop(POSTGRES_ENV, None)  # the databases are the ones named in ``arguments``
    env.pop("REFUNDRY_BENCH_POSTGRES_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def check(result: subprocess.CompletedProcess[str], databases: list[str]) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("| scenario |")))
    # The scenarios' table, below its header and rule, up to the blank line after it (the
    # money-out part's tables follow).
    table = list(itertools.takewhile(lambda line: line.startswith("| "), lines[start + 2 :]))
    for database in databases:
        mine = [line for line in table if f"| {database}" in line]
        scenarios = {line.split("|")[1].strip().split(".")[0] for line in mine}
        assert {"1", "2", "3", "4", "5", "6"} <= scenarios, mine
    for line in table:
        errors = line.split("|")[7].strip()
        assert errors == "0", line
    assert "0 over-refunds in the racing rounds" in result.stdout
    assert "FAILED" not in result.stdout


@pytest.mark.postgres
def test_the_smoke_benchmark_runs_clean_on_postgres() -> None:
    # when the HTTP scenarios run against a fresh database on the PostgreSQL server
    result = run_smoke("--postgres", postgres_server_url(), "--no-sqlite", "--only", "http")
    # then every scenario ran there without an error or an over-refund
    check(result, ["PostgreSQL"])


def check_money(result: subprocess.CompletedProcess[str], database: str, cells: int) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "FAILED" not in result.stdout
    drained = [line for line in result.stdout.splitlines()
               if line.startswith(f"| {database}") and " / " in line.split("|")[4]]  # fmt: skip
    assert len(drained) == cells, result.stdout
    for line in drained:
        completed, asked = line.split("|")[4].split(" / ")
        assert completed.strip() == asked.strip(), line
    paid_once = [line for line in result.stdout.splitlines()
                 if line.startswith("| each refund paid once") and database in line]  # fmt: skip
    assert paid_once, result.stdout
    assert paid_once[0].rstrip(" |").endswith("holds"), paid_once


def test_the_smoke_benchmark_runs_clean_on_sqlite() -> None:
    # when the whole benchmark runs in smoke mode, SQLite only (money out's one cell there
    # among it, at the gateway's first latency: the default matrix, cut short by --smoke)
    result = run_smoke("--money-latencies", "0")
    # then it exits 0 with every scenario in the table, no error and no over-refund
    check(result, ["SQLite"])
    # and every refund money out made completed, each paid once as the gateway has it
    check_money(result, "SQLite", cells=1)


@pytest.mark.postgres
def test_the_money_out_smoke_benchmark_drains_every_refund_once_on_postgres() -> None:
    # when money out runs in smoke mode on PostgreSQL, with two workers sharing the outbox
    result = run_smoke(
        "--postgres", postgres_server_url(), "--no-sqlite", "--only", "money",
        "--money-latencies", "0", "--money-workers", "2",
    )  # fmt: skip
    # then every refund completed, each paid once, and the framework ceiling ran clean
    check_money(result, "PostgreSQL", cells=1)
    assert "| bare FastAPI: one INSERT | PostgreSQL" in result.stdout
    assert "| keyed partial refund | PostgreSQL" in result.stdout
