"""``refundry verify`` on a real database: silent on what the use cases wrote, and
naming each figure someone changed behind their back (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from refundry.adapters.db.tables import orders as order_tables
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.entrypoints import seed_data
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from refundry.services.views.verify import verify
from tests.servers import venv_script


def seeded(database_url: str, orders: int = 300) -> tuple[Container, uuid.UUID]:
    container = bootstrap(Settings(database_url=database_url))
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Shop"))
    end = datetime.now(UTC)
    seed_data.insert(
        container.uow_factory,
        seed_data.generate(merchant.merchant.id, orders, start=end - timedelta(days=400), end=end),
    )
    return container, merchant.merchant.id


def run_verify(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_script("refundry"), "verify", *arguments],
        env={**os.environ, "REFUNDRY_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_verify_finds_no_drift_in_what_the_use_cases_wrote(own_database_url: str) -> None:
    container, merchant_id = seeded(own_database_url)
    try:
        outcome = verify(container.read_models, batch_size=64)
        assert outcome.drifts == []
        assert outcome.orders == 300
        assert outcome.refunds > 30  # the seed refunds about a fifth of its orders
        answer = run_verify(own_database_url, "--merchant", str(merchant_id))
        assert answer.returncode == 0, answer.stdout + answer.stderr
        assert "300 order(s)" in answer.stdout
        assert "no drift" in answer.stdout
    finally:
        container.engine.dispose()


def test_verify_names_every_figure_changed_behind_the_ledgers(own_database_url: str) -> None:
    container, _ = seeded(own_database_url)
    r, o = order_tables.refunds, order_tables.orders
    try:
        with container.engine.begin() as connection:
            completed = connection.execute(
                sa.select(r.c.id, r.c.order_id).where(
                    r.c.status == "completed", r.c.kind == "refund", r.c.currency == "EUR"
                )
            ).all()
            (nudged, _), (unsettled, _), (_, relabelled) = completed[:3]
            connection.execute(r.update().where(r.c.id == nudged).values(amount=r.c.amount + 1))
            connection.execute(r.update().where(r.c.id == unsettled).values(settled_at=None))
            connection.execute(o.update().where(o.c.id == relabelled).values(status="paid"))
        outcome = verify(container.read_models)
        found = {(drift.check, drift.subject.split(" of ")[0]) for drift in outcome.drifts}
        reports = {check for check, subject in found if subject == "summary report, EUR"}
        assert found - {(check, "summary report, EUR") for check in reports} == {
            ("refund_amount", f"refund {nudged}"),
            ("refund_settled_at", f"refund {unsettled}"),
            ("order_status", f"order {relabelled}"),
        }
        # The report reads the stored amount and settled_at: it drifts with them.
        assert {"report_refunds", "report_refund_count"} <= reports
        answer = run_verify(own_database_url)
        assert answer.returncode == 1
        assert "DRIFT refund_amount: merchant " in answer.stdout
        listed = json.loads(run_verify(own_database_url, "--json").stdout)
        assert listed["drift_count"] == outcome.drift_count
        assert {d["check"] for d in listed["drifts"]} == {d.check for d in outcome.drifts}
    finally:
        container.engine.dispose()
