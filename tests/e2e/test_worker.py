"""`refundry worker` closes due invoice cycles, once or in rounds, shares its rounds between
its jobs, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from refundry.adapters.db.tables import ledgers as ledger_tables
from refundry.adapters.db.tables import messages as message_tables
from refundry.adapters.db.tables import orders as order_tables
from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.domain.money import Currency, Money
from refundry.domain.order import Customer, LineKind, NewLine, PaymentMethod
from refundry.domain.points import PointsProgram
from refundry.domain.reconciliation import ExpectedRecord
from refundry.entrypoints import worker as worker_module
from refundry.entrypoints.api.app import create_app
from refundry.entrypoints.worker import Worker
from refundry.services import transactions
from refundry.services.handlers import merchant_float, orders, points, reconciliation
from refundry.services.handlers.merchants import create_merchant
from refundry.services.views import points as points_views
from tests.conftest import order_body
from tests.servers import venv_script


def test_a_worker_round_closes_the_due_cycles_and_a_second_round_adds_nothing(
    tmp_path: Path,
) -> None:
    # given a merchant whose float was opened in an earlier cycle
    container = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}"))
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "W"))
    transactions.run(
        container.uow_factory,
        lambda uow: merchant_float.open_float(
            uow, merchant.merchant.id, "EUR", merchant_float.InvoiceCycle.DAILY
        ),
    )
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    with container.engine.begin() as connection:
        connection.execute(ledger_tables.float_accounts.update().values(created_at=two_days_ago))
    # when the worker runs one round, then another
    worker = Worker(container)
    worker.run(once=True)
    first = transactions.read(
        container.uow_factory, lambda uow: merchant_float.list_invoices(uow, merchant.merchant.id)
    )
    worker.run(once=True)
    second = transactions.read(
        container.uow_factory, lambda uow: merchant_float.list_invoices(uow, merchant.merchant.id)
    )
    # then the two past days were closed once
    assert len(first) == 2
    assert [invoice.id for invoice in second] == [invoice.id for invoice in first]
    container.engine.dispose()


def test_the_worker_reconciles_on_its_schedule_and_reverses_a_redeem_order_once(
    tmp_path: Path,
) -> None:
    # given a redeem order, paid with points a day ago, whose transaction record never came
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        reconcile_grace_hours=1.0,
        reconcile_every_seconds=3600.0,
    )
    container = bootstrap(settings)
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "W"))
    merchant_id = merchant.merchant.id
    customer = Customer("a@b.example", "cust-1")
    line = NewLine("S", "S", LineKind.PHYSICAL, 1, 1000)
    transactions.run(
        container.uow_factory,
        lambda uow: points.set_program(uow, merchant_id, PointsProgram(points_per_unit=1)),
    )
    transactions.run(
        container.uow_factory,
        lambda uow: orders.ingest_order(
            uow, orders.PlaceOrder(merchant_id, "EARN", customer, "EUR", [line])
        ),
    )
    redeem = transactions.run(
        container.uow_factory,
        lambda uow: orders.ingest_order(
            uow,
            orders.PlaceOrder(
                merchant_id,
                "R-1",
                customer,
                "EUR",
                [line],
                payment_method=PaymentMethod.POINTS,
                points_redeemed=10,
            ),
        ),
    )
    # and the merchant sends records (the earning order's), so it is reconciled
    list(
        reconciliation.import_records(
            container.uow_factory,
            merchant_id,
            [
                ExpectedRecord(
                    "tx-earn",
                    "EARN",
                    Money(1000, Currency.of("EUR")),
                    occurred_at=datetime.now(UTC) - timedelta(days=2),
                )
            ],
        )
    )
    a_day_ago = datetime.now(UTC) - timedelta(days=1)
    with container.engine.begin() as connection:
        connection.execute(order_tables.orders.update().values(created_at=a_day_ago))
    # when the worker runs rounds (the job is due in the first, then not for an hour)
    worker = Worker(container)
    worker.run_round()
    worker.run_round()
    # then the order is auto_refunded and its points came back, once
    reversed_order = transactions.read(
        container.uow_factory, lambda uow: uow.orders.get(merchant_id, redeem.id)
    )
    assert reversed_order.status.value == "auto_refunded"
    ledger = transactions.query(
        container.read_models,
        lambda read: points_views.customer_points(read, merchant_id, "cust-1"),
    )
    assert ledger.balance == 10
    assert sorted(entry.kind.value for entry in ledger.entries) == [
        "earned",
        "redeemed",
        "restored",
    ]
    container.engine.dispose()


def test_the_worker_process_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "REFUNDRY_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"}
    process = subprocess.Popen(
        [venv_script("refundry"), "worker", "--interval", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # Started once it says so (imports and migrations take seconds on a loaded machine,
    # and a signal before the worker runs ends the process the default way).
    assert process.stderr is not None
    for line in process.stderr:
        if b"worker running" in line:
            break
    time.sleep(1)
    assert process.poll() is None, "the worker should keep running"
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(timeout=10) == 0
    finally:
        if process.stderr:
            process.stderr.close()


def test_a_round_of_provider_work_ends_after_its_time_so_webhooks_get_their_turn(
    tmp_path: Path, sandbox_psp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given 50 card refunds waiting for the gateway (more than two batches of 20)
    container = bootstrap(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'w.db'}",
            sandbox_psp_url=sandbox_psp_url,
            rate_limit_per_second=0,
        )
    )
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "W"))
    headers = {"Authorization": f"Bearer {merchant.api_key}"}
    with TestClient(create_app(container)) as client:
        for _ in range(50):
            made = client.post("/v1/orders", json=order_body(), headers=headers)
            assert made.status_code == 201, made.text
            refunded = client.post(
                f"/v1/orders/{made.json()['id']}/refund", json={}, headers=headers
            )
            assert refunded.status_code == 201, refunded.text

    def unsent() -> int:
        with container.engine.connect() as connection:
            return int(
                connection.scalar(
                    sa.select(sa.func.count()).where(message_tables.outbox_messages.c.attempts == 0)
                )
                or 0
            )

    assert unsent() == 50
    # when a round of provider work runs with its time already spent
    monkeypatch.setattr(worker_module, "PROVIDER_ROUND_SECONDS", 0.0)
    worker_module.send_provider_work(container)
    # then it did one batch and let the other jobs have their turn
    assert unsent() == 50 - container.provider_work.policy.batch_size
    # and, with a round's time, the rest goes in later rounds
    monkeypatch.setattr(worker_module, "PROVIDER_ROUND_SECONDS", 60.0)
    worker_module.send_provider_work(container)
    assert unsent() == 0
    container.engine.dispose()
