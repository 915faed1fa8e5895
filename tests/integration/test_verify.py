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
from refundry.adapters.db.tables import returns as return_tables
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.domain.order import ReturnLineRequest
from refundry.domain.refund import RefundMethod
from refundry.domain.returns import ReceivedUnits
from refundry.entrypoints import seed_data
from refundry.services import transactions
from refundry.services.handlers import returns as return_handlers
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


def test_verify_names_a_return_changed_behind_its_order(own_database_url: str) -> None:
    # given a return of one received unit, refunded less a 10% restocking fee
    container, merchant_id = seeded(own_database_url, orders=5)
    try:
        r = order_tables.refunds
        rl = return_tables.return_lines
        with container.engine.begin() as connection:
            order_id, line_id = connection.execute(
                sa.select(order_tables.order_lines.c.order_id, order_tables.order_lines.c.id)
                .join(
                    order_tables.orders,
                    order_tables.orders.c.id == order_tables.order_lines.c.order_id,
                )
                .where(
                    order_tables.orders.c.merchant_id == merchant_id,
                    order_tables.orders.c.status == "paid",
                    order_tables.order_lines.c.kind == "physical",
                    order_tables.order_lines.c.fulfilled_quantity > 0,
                )
                .limit(1)
            ).one()
        made = transactions.run(
            container.uow_factory,
            lambda uow: return_handlers.create_return(
                uow,
                merchant_id,
                order_id,
                [ReturnLineRequest(line_id, 1)],
                requested=False,
                restocking_fee_bp=1000,
                return_shipping_fee=0,
                note=None,
                actor="test",
            ),
        )
        return_id = made.order_return.id
        transactions.run(
            container.uow_factory,
            lambda uow: return_handlers.receive_return(
                uow, merchant_id, return_id, [ReceivedUnits(line_id, 1, 0)], actor="test"
            ),
        )
        refunded = transactions.run(
            container.uow_factory,
            lambda uow: return_handlers.refund_return(
                uow,
                container.quotes,
                merchant_id,
                return_id,
                method=RefundMethod.OTHER,
                reason=None,
                quote=None,
                actor="test",
            ),
        )
        assert verify(container.read_models, merchant_id).drifts == []
        # when its received units and its refund's fees are changed behind the order
        with container.engine.begin() as connection:
            connection.execute(rl.update().where(rl.c.return_id == return_id).values(damaged=5))
            connection.execute(
                r.update().where(r.c.id == refunded.refund.id).values(fees=r.c.fees + 1)
            )
        # then verify names both
        checks = {drift.check for drift in verify(container.read_models, merchant_id).drifts}
        assert {"return_received", "return_refund_units", "return_fees"} <= checks
    finally:
        container.engine.dispose()
