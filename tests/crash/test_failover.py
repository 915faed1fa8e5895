"""Failover with nothing lost (issue 23), the short version: three clients, four orders
each, one stop of the primary in a pg_auto_failover formation mid-way.

The run and its checks are ``tests/crash/failover.py``; the long version is
``python -m tests.crash.failover`` (its figures are in docs/reliability.md). Without
``pg_autoctl`` (Debian's postgresql-15-auto-failover) the test skips with the reason,
except under ``CI=true``, where ``.ci/run`` installs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crash.failover import run_failover
from tests.crash.harness import new_base_seed, sandbox_gateway


@pytest.mark.slow
@pytest.mark.postgres
def test_the_primary_stops_mid_run_and_every_refund_is_paid_once_and_every_event_told(
    tmp_path: Path,
) -> None:
    seed = new_base_seed()
    with sandbox_gateway(tmp_path) as psp_url:
        report = run_failover(psp_url, tmp_path, clients=3, orders=4, failovers=1, seed=seed)
    run = report.run
    assert run.problems == [], f"seed {seed}, logs in {tmp_path}:\n" + "\n".join(run.problems)
    # the primary did stop while the clients worked, and they felt it
    [stop] = report.stops
    assert run.server_errors + run.transport_errors >= 1, report
    # and the API took a POST again with no restart: it found the promoted node itself
    assert stop.seconds_until_a_post_succeeded > 0, report
    # then every refund was paid out exactly once, every event delivered, the ledger sound
    assert run.refunds >= 1, report
    assert run.duplicate_refunds == 0, report
    assert run.refunds_completed == run.refunds == run.psp_refunds, report
    assert run.deliveries_received >= run.events >= run.refunds, report
    assert run.verify == "ok", report
