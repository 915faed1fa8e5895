"""Seed 002 says "refresh your page to see the new status": here the order page follows a
processing refund by itself (htmx), until the provider completes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.test_seed_003_refund import AGENT, PASSWORD, seed
from tests.servers import free_port, running_server, venv_script


@pytest.fixture
def server_with_worker(database: str, tmp_path: Path) -> Iterator[str]:
    """`refundry serve --with-worker`: the API, the worker and the sandbox card gateway."""
    port, psp_port = free_port(), free_port()
    command = [venv_script("refundry"), "serve", "--port", str(port), "--with-worker"]
    env = {
        "REFUNDRY_DATABASE_URL": database,
        "REFUNDRY_DASHBOARD_SECURE_COOKIES": "0",
        "REFUNDRY_SANDBOX_PSP_URL": f"http://127.0.0.1:{psp_port}",
    }
    with running_server(command, port=port, env=env, cwd=tmp_path) as base:
        yield base


def test_a_processing_refund_turns_completed_without_a_reload(
    page: Page, database: str, server_with_worker: str
) -> None:
    order = seed(database)
    sign_in(page, server_with_worker, AGENT, PASSWORD)
    page.goto(f"{server_with_worker}/dashboard/orders/{order.id}/refund")
    page.get_by_role("button", name="Full refund").click()
    page.get_by_role("button", name="Refund", exact=True).click()
    refunds = page.locator("#refunds")
    # the worker sends it to the sandbox gateway; the section follows without a reload
    expect(refunds.get_by_text("Completed")).to_be_visible(timeout=30_000)
    expect(refunds).not_to_contain_text("updates by itself")
