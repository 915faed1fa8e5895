"""Crash storms (issue 10): ``kill -9`` the API and the worker at random moments during
refunds, cancels and webhook deliveries; after a restart every refund reached the payment
gateway exactly once and every event was delivered at least once.

The harness is ``tests/crash/harness.py`` (real processes, the checks) and the client
``tests/crash/client.py``. By default a few runs per database (CI). Settings:

- ``REFUNDRY_LONG_TESTS=1``: 50 runs per database (100 with PostgreSQL);
- ``REFUNDRY_CRASH_RUNS=N``: N runs per database;
- ``REFUNDRY_CRASH_SEED=S``: run ``i`` draws its plan from seed ``S + i`` (random otherwise;
  a failure names its seed, and ``REFUNDRY_CRASH_SEED=<seed> REFUNDRY_CRASH_RUNS=1``
  repeats that plan);
- ``REFUNDRY_CRASH_REPORT=FILE``: every run's figures are appended to FILE (JSON lines);
  ``python -m tests.crash.figures FILE`` adds them up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fresh_postgres_database
from tests.crash.harness import (
    RunReport,
    StormPlan,
    new_base_seed,
    record,
    run_storm,
    sandbox_gateway,
)

LONG = os.environ.get("REFUNDRY_LONG_TESTS") == "1"
BASE_SEED = int(os.environ.get("REFUNDRY_CRASH_SEED") or new_base_seed())


# Some plans' kills all fall between requests (seed 198613's did, at the start of stop 18
# too), so nothing is retried though the run was checked whole (``storm`` asserts it found
# no problem): then another plan must show the retries, and every check of assert_sound.
ANOTHER = 1000


def run_count(short: int) -> int:
    configured = os.environ.get("REFUNDRY_CRASH_RUNS")
    if configured:
        return int(configured)
    return 50 if LONG else short


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One sandbox gateway for the module; each run resets it."""
    with sandbox_gateway(tmp_path_factory.mktemp("crash-gateway")) as url:
        yield url


def storm(database_url: str, gateway: str, workdir: Path, run: int) -> RunReport:
    plan = StormPlan.draw(BASE_SEED + run, long=LONG)
    repeat = f"REFUNDRY_CRASH_SEED={plan.seed} REFUNDRY_CRASH_RUNS=1"
    try:
        report = run_storm(database_url, gateway, workdir, plan)
    except Exception as error:
        message = f"crash run with seed {plan.seed} broke ({repeat}): {error}"
        raise AssertionError(message) from error
    record(report)
    assert report.problems == [], (
        f"crash run with seed {plan.seed} ({repeat}), logs in {workdir}:\n"
        + "\n".join(report.problems)
    )
    return report


def assert_sound(report: RunReport) -> None:
    # the storm did happen: both were killed (the last time after the storm), requests
    # were retried, money moved
    assert report.kills_server >= 2, report
    assert report.kills_worker >= 1, report
    assert report.retried >= 1, report
    assert report.orders >= 3, report
    assert report.refunds + report.voids >= 1, report  # (a plan may only void holds)
    # every refund settled, each paid at most once, the failed ones all accounted for
    assert report.duplicate_refunds == 0, report
    assert report.refunds_completed + report.refunds_failed == report.refunds, report
    assert report.refunds_failed == report.faults_consumed, report
    assert report.refunds_completed <= report.psp_refunds <= report.refunds, report
    # each refund was told at least once, and every event arrived
    assert report.events >= report.refunds, report
    assert report.deliveries_received >= report.events, report
    assert report.verify == "ok", report


@pytest.mark.slow
# Two runs a database in CI (SQLite had three): tests/crash/test_failover.py adds a run of
# its own on PostgreSQL, and REFUNDRY_LONG_TESTS=1 runs fifty.
@pytest.mark.parametrize("run", range(run_count(2)), ids=lambda run: f"run{run}")
def test_a_crash_storm_on_sqlite_pays_each_refund_once_and_delivers_each_event(
    run: int, gateway: str, tmp_path: Path
) -> None:
    report = storm(f"sqlite:///{tmp_path / 'crash.db'}", gateway, tmp_path, run)
    if not report.retried:
        again = tmp_path / "again"
        again.mkdir()
        report = storm(f"sqlite:///{again / 'crash.db'}", gateway, again, run + ANOTHER)
    assert_sound(report)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("run", range(run_count(2)), ids=lambda run: f"run{run}")
def test_a_crash_storm_on_postgresql_pays_each_refund_once_and_delivers_each_event(
    run: int, gateway: str, tmp_path: Path
) -> None:
    with fresh_postgres_database() as database_url:
        report = storm(database_url, gateway, tmp_path, run)
    if not report.retried:
        again = tmp_path / "again"
        again.mkdir()
        with fresh_postgres_database() as database_url:
            report = storm(database_url, gateway, again, run + ANOTHER)
    assert_sound(report)
