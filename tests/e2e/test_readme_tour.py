"""The README's curl tour, run as written against `refundry demo` on a free port."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.test_project_docs import readme_block
from tests.servers import free_port, running_server, venv_script

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the tour needs curl")


@dataclass(frozen=True)
class Demo:
    api: str
    psp_port: int
    database: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo for every tour, as a newcomer pastes them one after another into one."""
    folder = tmp_path_factory.mktemp("demo")
    port, psp_port = free_port(), free_port()
    command = [venv_script("refundry"), "demo", "--port", str(port)]
    command += ["--database", str(folder / "demo.db"), "--psp-port", str(psp_port)]
    with running_server(command, port=port, cwd=folder) as base:
        yield Demo(f"{base}/v1", psp_port, folder / "demo.db")


def run_tour(name: str, demo: Demo, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The README block ``name`` in bash, as pasted, against the demo and the CLI on its
    database, in the folder ``cwd``."""
    env = {
        **os.environ,
        "API": demo.api,
        "PSP": f"http://127.0.0.1:{demo.psp_port}",
        "REFUNDRY": venv_script("refundry"),
        "REFUNDRY_DATABASE_URL": f"sqlite:///{demo.database}",
        "HOOKS_PORT": str(free_port()),
    }
    env.pop("RUN", None)
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_block(name)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


TOURS = ("tour", "tour-gift-cards", "tour-webhooks", "tour-points", "tour-returns")


def test_readme_tour_works_as_written(demo: Demo, tmp_path: Path) -> None:
    # given the tour block from the README and the demo serving: when it runs in bash
    result = run_tour("tour", demo, tmp_path)
    # then every step printed what the README promises
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert ": paid, total 9962 cents" in out
    assert "preview: 1393 cents, tax 232" in out
    assert "started; order is now partially_refunded" in out
    assert "refund history: started -> processing -> completed" in out
    assert "problems/refund-exceeds-refundable" in out
    assert "problems/order-fulfilled" in out
    assert "(8569, 'fully_refunded', 0)" in out
    assert "klarna order: authorized, hold lapses at" in out
    assert "after cancel: hold voided; at Klarna CANCELLED" in out


def test_readme_gift_card_tour_walks_seed_000(demo: Demo, tmp_path: Path) -> None:
    # given the gift-card tour from the README, the demo serving, and the CLI on its
    # database: when it runs in bash
    result = run_tour("tour-gift-cards", demo, tmp_path)
    # then each seed step shows what the help page promises
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "consumer opens link 1: HTTP 200" in out
    assert "found: CONNECT-TOUR-" in out
    assert "link 1: accessed, accessed=True, expired=False, can_cancel=False" in out
    assert "link 2: issued, accessed=False, expired=False, can_cancel=True" in out
    assert "problems/link-accessed" in out
    before = _float_line(out, "before the close:")
    after = _float_line(out, "after the close:")
    again = _float_line(out, "closed again:")
    assert before[1] > 0  # the credit waits for the close
    assert after == (before[0] + before[1], 0)  # applied at the close
    assert again == after  # and never twice


def _float_line(out: str, label: str) -> tuple[int, int]:
    line = next(line for line in out.splitlines() if line.startswith(label))
    balance, pending = line.removeprefix(label).strip(" ()").split(",")
    return int(balance), int(pending)


def test_readme_webhook_tour_gets_a_signed_refunded_event(demo: Demo, tmp_path: Path) -> None:
    # given the webhook tour from the README, the demo serving, and a free port to listen
    # on: when it runs in bash, in a folder of its own
    result = run_tour("tour-webhooks", demo, tmp_path)
    # then the local receiver verified a refunded event and the refund's status changes
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "NOT VERIFIED" not in out
    lines = [line for line in out.splitlines() if line.startswith("verified ")]
    assert lines[0].startswith("verified refunded ")
    assert "sequence=1 refund_status=started amount=500" in lines[0]
    assert any("refund.updated" in line and "refund_status=completed" in line for line in lines)
    assert "('Late delivery', 'tour-hooks-" in out
    assert "('delivered', 200)" in out
    # and it left nothing in the folder it ran in (the receiver's log was a temporary file)
    assert list(tmp_path.iterdir()) == []


def test_readme_points_tour_reverses_points_and_auto_refunds(demo: Demo, tmp_path: Path) -> None:
    # given the points tour from the README, the demo serving, and the CLI on its
    # database: when it runs in bash, in a folder of its own (it writes a CSV file)
    result = run_tour("tour-points", demo, tmp_path)
    # then each step prints what the README promises
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "earning order: 100 points earned" in out
    assert "(50, 50, 'partially_refunded')" in out
    assert "balance after redeeming: 26" in out
    assert "imported 1 record(s)" in out
    assert "('auto_refunded', 40)" in out
    assert "('auto_refund', 400, 1600)" in out
    assert "balance after the reversal: 50" in out
    assert "problems/order-not-refundable" in out
    last = out.splitlines()[-2:]
    assert last[0] == "missing_record,", out
    assert last[1].startswith("record_without_order,PTS-"), out


def test_readme_returns_tour_walks_a_return_to_store_credit_and_spends_it(
    demo: Demo, tmp_path: Path
) -> None:
    # given the returns tour from the README and the demo serving: when it runs in bash
    result = run_tour("tour-returns", demo, tmp_path)
    # then each step prints what the README promises, in order
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.splitlines() == [
        "fulfilled",
        "lamps on the shelf after the sale: 7",
        "open",
        "('received', 2)",
        "lamps on the shelf after the receipt: 8",
        "(6480, 720)",
        "('closed', 'completed', 'partially_refunded')",
        "store credit: 6480",
        "('paid', 6480)",
        "store credit after the checkout: 0",
        "{'returns': 1, 'units_returned': 2, 'fees_kept': 720, 'store_credit_issued': 6480, "
        "'store_credit_spent': 6480, 'store_credit_outstanding': 0}",
    ]


def test_every_tour_runs_again_on_the_same_demo(demo: Demo, tmp_path: Path) -> None:
    # given every tour has run once on this demo (the tests above, in the README's order):
    # when each is pasted again
    for name in TOURS:
        result = run_tour(name, demo, tmp_path)
        # then it works again: its ids are its own (no duplicate-external-id, no
        # Idempotency-Key reused for another order), and it leaves what it changed as it was
        assert result.returncode == 0, (name, result.stderr + result.stdout)
        assert "problems/duplicate" not in result.stdout, name
        assert "NOT VERIFIED" not in result.stdout, name
        assert "Traceback" not in result.stderr, name
