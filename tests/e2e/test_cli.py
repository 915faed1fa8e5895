"""The `refundry` command as a user runs it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from refundry import __version__
from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from refundry.entrypoints.refund_report_csv import REFUND_REPORT_COLUMNS
from tests.servers import free_port, running_server, venv_script, wait_for


def refundry(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_script("refundry"), *args],
        env={**os.environ, "REFUNDRY_DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_then_create_merchant_prints_a_working_key(tmp_path: Path) -> None:
    # given a fresh database
    database = tmp_path / "cli.db"
    assert refundry("migrate", database=database).returncode == 0
    # when a merchant is created
    created = refundry("merchants", "create", "Corner Shop", "--json", database=database)
    # then its JSON has the id and a key that authenticates against `refundry serve`
    assert created.returncode == 0, created.stderr
    printed = json.loads(created.stdout)
    assert set(printed) == {"merchant_id", "api_key"}
    port = free_port()
    command = [venv_script("refundry"), "serve", "--port", str(port)]
    env = {"REFUNDRY_DATABASE_URL": f"sqlite:///{database}"}
    with running_server(command, port=port, env=env) as base:
        ok = httpx.get(
            f"{base}/v1/orders", headers={"Authorization": f"Bearer {printed['api_key']}"}
        )
        refused = httpx.get(f"{base}/v1/orders", headers={"Authorization": "Bearer rfk_x_y"})
    assert ok.status_code == 200
    assert ok.json()["data"] == []
    assert refused.status_code == 401


def test_demo_starts_quietly_signs_in_last_and_names_its_database_for_the_cli(
    tmp_path: Path,
) -> None:
    # when the demo starts, all it writes going to one file
    port, log = free_port(), tmp_path / "demo.log"
    command = [venv_script("refundry"), "demo", "--port", str(port)]
    command += ["--psp-port", str(free_port()), "--database", str(tmp_path / "d.db")]
    with running_server(command, port=port, cwd=tmp_path, log=log) as base:
        wait_for(lambda: log.read_text().count(RULE) == 2, seconds=60, what="the sign-in")
        printed = log.read_text()
        block = printed.split(RULE)[1].splitlines()
        key = next(line.split()[-1] for line in block if "API key" in line)
        login = next(line for line in block if "sign in as" in line).split()
        export = next(
            line.split("export ")[1] for line in block if "REFUNDRY_DATABASE_URL=" in line
        )
        # then its orders, read back through the API, cover every state
        now = datetime.now(UTC)
        orders = httpx.get(
            f"{base}/v1/orders?limit=200", headers={"Authorization": f"Bearer {key}"}
        ).json()["data"]
        # and the printed dashboard login opens the dashboard on the sample data
        with httpx.Client(base_url=base) as browser:
            signed_in = browser.post(
                "/dashboard/login", data={"email": login[3], "password": login[5]}
            )
            assert signed_in.status_code == 303, signed_in.text
            listed = browser.get("/dashboard/orders")
        # and a CLI command given the printed database works on the demo's data
        name, url = export.split("=", 1)
        verified = subprocess.run(
            [venv_script("refundry"), "verify"],
            env={**os.environ, name: url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    # nothing was written before the sign-in block (no start-up log lines)
    assert printed.split(RULE)[0].strip() == "", printed[:3000]
    assert listed.status_code == 200
    assert "SHOP-10" in listed.text
    assert 90 <= len(orders) <= 120
    # placed over the last 90 days, a few of them today, none in the future (issue 21)
    ages = [now - datetime.fromisoformat(order["created_at"]) for order in orders]
    assert max(ages) > timedelta(days=60)
    assert min(ages) >= timedelta(0)
    assert sum(age < timedelta(days=30) for age in ages) < len(orders) - 20
    statuses = {order["order_status"] for order in orders}
    assert {"pending", "authorized", "paid", "partially_refunded", "fully_refunded"} <= statuses
    assert "cancelled" in statuses
    assert any(order["fulfilment_status"] == "fulfilled" for order in orders)
    assert verified.returncode == 0, verified.stderr
    assert f"1 merchant(s), {len(orders)} order(s)" in verified.stdout


RULE = "=" * 78  # above and below the demo's sign-in block


def test_version() -> None:
    printed = subprocess.run(
        [venv_script("refundry"), "--version"], capture_output=True, text=True, check=False
    )
    assert (printed.returncode, printed.stdout) == (0, f"refundry {__version__}\n")


def test_a_command_on_data_refuses_a_database_file_that_does_not_exist(tmp_path: Path) -> None:
    # given no database where the command looks (beside a demo, say, whose file is another)
    database = tmp_path / "refundry.db"
    # when a command that reads data runs there
    refused = refundry("verify", database=database)
    # then it says where it looked, in one line, and creates nothing there
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"refundry: no database at {database}: set REFUNDRY_DATABASE_URL to yours "
        "(`refundry demo` prints the one for its database), or create one with "
        "`refundry migrate`"
    ]
    assert list(tmp_path.iterdir()) == []


def test_mistakes_a_user_can_make_print_one_line_each_and_fail(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    bootstrap(Settings(database_url=f"sqlite:///{database}")).engine.dispose()  # migrated
    dates = ["--from", "2026-01-01", "--to", "2026-01-31"]
    mistakes = {
        "--merchant must be a merchant id, not 'nope' (invalid-input)": refundry(
            "reports", "refunds", "--merchant", "nope", *dates, "--out", str(tmp_path / "r.csv"),
            database=database,
        ),
        "No such file or directory": refundry(
            "reports", "refunds", "--merchant", str(uuid.uuid4()), *dates,
            "--out", str(tmp_path / "no-such-folder" / "r.csv"), database=database,
        ),
        "REFUNDRY_LOG_FORMAT must be one of text, json, not 'xml'": subprocess.run(
            [venv_script("refundry"), "verify"],
            env={**os.environ, "REFUNDRY_DATABASE_URL": f"sqlite:///{database}",
                 "REFUNDRY_LOG_FORMAT": "xml"},
            capture_output=True, text=True, timeout=120, check=False,
        ),
    }  # fmt: skip
    for reason, result in mistakes.items():
        assert result.returncode == 1, result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith("refundry: ")
        assert reason in line


def test_a_refused_command_prints_one_clean_error_line_and_fails(tmp_path: Path) -> None:
    # given a migrated database
    database = tmp_path / "cli.db"
    assert refundry("migrate", database=database).returncode == 0
    # when a merchant is created with a blank name, which the service refuses
    refused = refundry("merchants", "create", "  ", "--json", database=database)
    # then the command fails with the reason on one line of stderr, and no traceback
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.splitlines() == [
        "refundry: merchant name must not be blank (invalid-input)"
    ]


@contextmanager
def api_client(database: Path, api_key: str) -> Iterator[TestClient]:
    """The API on the same database file, in-process, to check what the command wrote."""
    container = bootstrap(Settings(database_url=f"sqlite:///{database}"))
    try:
        with TestClient(create_app(container)) as client:
            client.headers["Authorization"] = f"Bearer {api_key}"
            yield client
    finally:
        container.engine.dispose()


def test_seed_then_export_the_refunds_report_as_csv(tmp_path: Path) -> None:
    # given a data set seeded over the last 30 days
    database = tmp_path / "cli.db"
    seeded = refundry("seed", "--orders", "60", "--days", "30", database=database)
    assert seeded.returncode == 0, seeded.stderr
    printed = json.loads(seeded.stdout)  # stdout is the JSON alone; the progress is on stderr
    assert set(printed) == {"merchant_id", "api_key", "orders"}
    assert printed["orders"] == 60
    # when its refunds report is written as CSV (refunds may come weeks after a sale)
    today = datetime.now(UTC).date()
    first, last = (today - timedelta(days=60)).isoformat(), (today + timedelta(days=60)).isoformat()
    out = tmp_path / "refunds.csv"
    exported = refundry(
        "reports", "refunds", "--merchant", printed["merchant_id"],
        "--from", first, "--to", last, "--out", str(out), database=database,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    # then the file round-trips through the csv module: a header, then one row per refund
    with out.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    assert header == REFUND_REPORT_COLUMNS
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    # and it holds exactly the refunds the API's report lists, with the same totals
    with api_client(database, printed["api_key"]) as client:
        assert client.get("/v1/orders?limit=1").status_code == 200  # the printed key works
        page = client.get(f"/v1/reports/refunds?from={first}&to={last}&limit=500").json()
        unsettled = client.get(
            f"/v1/reports/refunds?from={first}&to={last}&status=started&status=processing"
        ).json()
    assert exported.stdout.strip() == f"wrote {page['total']} refunds to {out}"
    assert 0 < len(rows) == page["total"] == len(page["data"])
    assert {row["refund_id"] for row in rows} == {row["id"] for row in page["data"]}
    exponents = {"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3}
    for currency in {row["currency"] for row in page["data"]}:
        from_csv = sum(Decimal(row["amount"]) for row in rows if row["currency"] == currency)
        from_api = sum(row["amount"] for row in page["data"] if row["currency"] == currency)
        assert from_csv == Decimal(from_api).scaleb(-exponents[currency])
    # and the seeded refunds are history: settled, none waiting for a provider
    assert unsettled["total"] == 0
    assert {"completed", "not_requested"} <= {row["status"] for row in rows}


def test_invoices_close_applies_the_float_credits_due_at_the_given_time(tmp_path: Path) -> None:
    # given a merchant with a daily invoice cycle and a cancelled gift-card link
    database = tmp_path / "cli.db"
    created = refundry("merchants", "create", "Float Shop", "--json", database=database)
    assert created.returncode == 0, created.stderr
    merchant = json.loads(created.stdout)
    with api_client(database, merchant["api_key"]) as client:
        opened = client.put("/v1/float", json={"currency": "EUR", "invoice_cycle": "daily"})
        assert opened.is_success, opened.text
        assert client.post("/v1/float/top-ups", json={"amount": 10_000}).is_success
        gift = {"sku": "G", "name": "Gift", "quantity": 2, "unit_price": 2500,
                "kind": "gift_card_link"}  # fmt: skip
        order = client.post(
            "/v1/orders",
            json={"external_id": "F-1", "currency": "EUR", "customer": {"email": "a@b.example"},
                  "lines": [gift], "payment": {"method": "float"}},
        ).json()  # fmt: skip
        link = order["lines"][0]["links"][0]
        cancelled = client.post(f"/v1/orders/{order['id']}/items/{link['id']}/cancel")
        assert cancelled.is_success, cancelled.text
        float_before = client.get("/v1/float").json()
    assert (float_before["balance"], float_before["pending_credits"]) == (5000, 2500)
    cycle_start = datetime.fromisoformat(float_before["cycle_start"])
    cycle_end = datetime.fromisoformat(float_before["cycle_end"])
    # when the close runs at a time before the cycle ends, then nothing is due
    early = refundry(
        "invoices", "close", "--at", f"{cycle_end - timedelta(seconds=1):%Y-%m-%dT%H:%M:%S}",
        database=database,
    )  # fmt: skip
    assert early.returncode == 0, early.stderr
    assert early.stdout.splitlines() == [
        f"closed every cycle due by {(cycle_end - timedelta(seconds=1)).isoformat()}"
    ]
    # when it runs at the cycle's end
    closed = refundry(
        "invoices", "close", "--at", f"{cycle_end:%Y-%m-%dT%H:%M:%S}", database=database
    )
    assert closed.returncode == 0, closed.stderr
    # then it prints the merchant's statement for the cycle, with the credit applied
    assert closed.stdout.splitlines() == [
        f"{merchant['merchant_id']} {cycle_start:%Y-%m-%d}..{cycle_end:%Y-%m-%d} "
        "credits 25.00 EUR closing 75.00 EUR",
        f"closed every cycle due by {cycle_end.isoformat()}",
    ]
    with api_client(database, merchant["api_key"]) as client:
        after = client.get("/v1/float").json()
        refunds = client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert after["balance"] == 7500
    assert after["pending_credits"] == 0
    assert [refund["status"] for refund in refunds] == ["completed"]
    # and running it again closes nothing twice
    again = refundry(
        "invoices", "close", "--at", f"{cycle_end:%Y-%m-%dT%H:%M:%S}", database=database
    )
    assert again.stdout.splitlines() == [f"closed every cycle due by {cycle_end.isoformat()}"]


def test_webhooks_replay_requeues_the_events_of_a_time_range(tmp_path: Path) -> None:
    # given two cancelled orders whose events an endpoint never got (nothing listened)
    database = tmp_path / "cli.db"
    created = refundry("merchants", "create", "Hooks Shop", "--json", database=database)
    assert created.returncode == 0, created.stderr
    merchant = json.loads(created.stdout)
    with api_client(database, merchant["api_key"]) as client:
        endpoint = client.post(
            "/v1/webhook-endpoints",
            # .invalid never resolves (RFC 2606): a public-looking URL nothing answers at
            json={"url": "https://hooks.invalid/hooks", "enabled_events": ["cancelled"]},
        ).json()
        for number in range(2):
            line = {"sku": "S", "name": "S", "quantity": 1, "unit_price": 100}
            body = {"external_id": f"R-{number}", "currency": "EUR",
                    "customer": {"email": "a@b.example"}, "lines": [line]}  # fmt: skip
            order = client.post("/v1/orders", json=body).json()
            assert client.post(f"/v1/orders/{order['id']}/cancel").is_success
        events = client.get("/v1/events").json()["data"]
        for event in events:
            client.post(f"/v1/events/{event['id']}/redeliver")  # still pending: a no-op
    assert len(events) == 2
    engine = bootstrap(Settings(database_url=f"sqlite:///{database}")).engine
    with engine.begin() as connection:  # the deliveries gave up long ago
        connection.exec_driver_sql(
            "UPDATE webhook_deliveries SET state = 'failed', last_error = 'gave up'"
        )
    engine.dispose()
    # when the operator replays everything since yesterday, of another type, then nothing
    since = f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}"
    other = refundry(
        "webhooks", "replay", "--since", since, "--type", "refunded", database=database
    )
    assert other.stdout.strip() == "queued 0 event(s) for redelivery"
    # when it replays the cancellations
    replayed = refundry("webhooks", "replay", "--since", since, database=database)
    # then both events are owed again to the endpoint, with their original ids
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == "queued 2 event(s) for redelivery"
    with api_client(database, merchant["api_key"]) as client:
        for event in events:
            [delivery] = client.get(f"/v1/events/{event['id']}/deliveries").json()["data"]
            assert delivery["endpoint_id"] == endpoint["id"]
            assert delivery["state"] == "pending"
            assert delivery["last_error"] is None


def test_reconcile_import_run_and_report(tmp_path: Path) -> None:
    # given a merchant with two redeem orders paid wholly with points
    database = tmp_path / "cli.db"
    created = refundry("merchants", "create", "Points Shop", "--json", database=database)
    assert created.returncode == 0, created.stderr
    merchant = json.loads(created.stdout)
    with api_client(database, merchant["api_key"]) as client:
        client.put("/v1/points-program", json={"points_per_unit": 10})
        line = {"sku": "S", "name": "S", "quantity": 1, "unit_price": 5000}
        earning = {"external_id": "EARN", "currency": "EUR",
                   "customer": {"email": "a@b.example"}, "lines": [line]}  # fmt: skip
        assert client.post("/v1/orders", json=earning).status_code == 201
        redeem_orders = []
        for number in range(2):
            small = {"sku": "T", "name": "T", "quantity": 1, "unit_price": 1000}
            body = {"external_id": f"R-{number}", "currency": "EUR",
                    "customer": {"email": "a@b.example"}, "lines": [small],
                    "payment": {"method": "points", "points": {"redeemed": 100}}}  # fmt: skip
            made = client.post("/v1/orders", json=body)
            assert made.status_code == 201, made.text
            redeem_orders.append(made.json())
    # and a file that has R-0's record, a wrong line it must refuse, then a fixed file
    bad = tmp_path / "bad.csv"
    bad.write_text("transaction_id,order,amount,currency\ntx-1,R-0,1000,EUR\ntx-2,R-1,ten,EUR\n")
    refused = refundry("reconcile", "import", str(bad), "--merchant", merchant["merchant_id"],
                       database=database)  # fmt: skip
    assert refused.returncode == 1
    assert "line 3: amount must be whole minor units" in refused.stderr
    good = tmp_path / "records.csv"
    good.write_text(
        "transaction_id,order,amount,currency,points,occurred_at\n"
        "tx-1,R-0,1000,EUR,100,2026-11-20T10:00:00Z\n"
        "tx-9,R-404,700,EUR,,\n"
    )
    imported = refundry("reconcile", "import", str(good), "--merchant", merchant["merchant_id"],
                        database=database)  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "imported 2 record(s)"
    assert "importing" in imported.stderr  # the progress bar
    # when reconciliation runs with no grace period, twice
    first = refundry("reconcile", "run", "--grace-hours", "0", database=database)
    second = refundry("reconcile", "run", "--grace-hours", "0", database=database)
    # then R-1, whose record never came, is reversed once, and the orphan record is reported
    assert first.returncode == 0, first.stderr
    assert f"auto_refunded {redeem_orders[1]['id']}" in first.stdout
    assert "orders auto_refunded: 1; new discrepancies: 1" in first.stdout
    assert "orders auto_refunded: 0; new discrepancies: 0" in second.stdout
    report = tmp_path / "discrepancies.csv"
    written = refundry("reconcile", "report", "--merchant", merchant["merchant_id"],
                       "--output", str(report), database=database)  # fmt: skip
    assert written.returncode == 0, written.stderr
    with report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((row["kind"], row["transaction_id"], row["action"]) for row in rows) == [
        ("missing_record", "", "auto_refunded"),
        ("record_without_order", "tx-9", ""),
    ]
    with api_client(database, merchant["api_key"]) as client:
        reversed_order = client.get(f"/v1/orders/{redeem_orders[1]['id']}").json()
        kept = client.get(f"/v1/orders/{redeem_orders[0]['id']}").json()
        ledger = client.get("/v1/customers/a@b.example/points").json()
    assert reversed_order["order_status"] == "auto_refunded"
    assert kept["order_status"] == "paid"
    assert ledger["balance"] == 500 - 200 + 100
