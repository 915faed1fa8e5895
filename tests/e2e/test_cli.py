"""The `refundry` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx

from tests.servers import free_port, running_server, venv_script


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


def test_demo_seeds_orders_in_every_state(tmp_path: Path) -> None:
    # when the demo seeds without serving
    result = subprocess.run(
        [venv_script("refundry"), "demo", "--no-serve", "--database", str(tmp_path / "d.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    key = next(line.split()[-1] for line in result.stdout.splitlines() if "API key" in line)
    # then its orders, read back through the API on a server, cover every state
    port = free_port()
    command = [venv_script("refundry"), "serve", "--port", str(port)]
    env = {"REFUNDRY_DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}"}
    with running_server(command, port=port, env=env) as base:
        orders = httpx.get(
            f"{base}/v1/orders?limit=200", headers={"Authorization": f"Bearer {key}"}
        ).json()["data"]
    assert 45 <= len(orders) <= 60
    statuses = {order["order_status"] for order in orders}
    assert {"pending", "authorized", "paid", "partially_refunded", "fully_refunded"} <= statuses
    assert "cancelled" in statuses
    assert any(order["fulfilment_status"] == "fulfilled" for order in orders)


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
