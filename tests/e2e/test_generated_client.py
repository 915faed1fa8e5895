"""A client generated from our OpenAPI document, as an integrator would make one, reads
every answer the API gives: a refund, and a refusal as a typed Problem (issue 22).

openapi-python-client (a generator nobody here wrote) makes the client at test time from
the running server's /openapi.json; the client is then imported and used against that
server over loopback. With the problem schema written inline in each error response the
generator warned 392 times and typed only the 400: a 409 came back as ``parsed=None``.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
import pytest

from refundry.bootstrap import Container
from refundry.entrypoints.api.errors import PROBLEM_BASE
from refundry.services import transactions
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from tests.conftest import order_body
from tests.servers import api_server, venv_script

PACKAGE = "refundry_generated_client"


@dataclass
class Generated:
    output: str  # what the generator printed
    package: ModuleType

    def module(self, name: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="module")
def server(sqlite_container: Container) -> Iterator[str]:
    with api_server(sqlite_container.engine.url.render_as_string(hide_password=False)) as base:
        yield base


@pytest.fixture(scope="module")
def generated(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """The client, generated once for the module."""
    folder = tmp_path_factory.mktemp("generated-client")
    document = folder / "openapi.json"
    document.write_bytes(httpx.get(f"{server}/openapi.json").content)
    # No post hooks: they only reformat the code (with ruff), which this test never reads.
    config = folder / "config.yaml"
    config.write_text("post_hooks: []\n")
    command = [venv_script("openapi-python-client"), "generate", "--path", str(document)]
    command += ["--output-path", str(folder / PACKAGE), "--meta", "none", "--config", str(config)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    sys.path.insert(0, str(folder))
    try:
        yield Generated(output, importlib.import_module(PACKAGE))
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture
def shop(sqlite_container: Container) -> NewMerchant:
    return transactions.run(
        sqlite_container.uow_factory,
        lambda uow: create_merchant(uow, f"Generated {uuid.uuid4().hex[:6]}"),
    )


def test_the_generator_has_no_warning_about_our_document(generated: Generated) -> None:
    # It names what it skipped ("response will be omitted", "Endpoint will not be
    # generated") in warnings; a clean run prints only the line saying it is generating.
    assert "warning" not in generated.output.lower(), generated.output


def test_the_generated_client_refunds_and_reads_a_refusal_as_a_problem(
    generated: Generated, server: str, shop: NewMerchant
) -> None:
    models = generated.module("models")
    create_order = generated.module("api.orders.create_order_v1_orders_post")
    refund = generated.module("api.refunds.refund_v1_orders_order_id_refund_post")
    client = generated.package.AuthenticatedClient(base_url=server, token=shop.api_key)
    with client:
        # given an order placed through the generated client
        placed = create_order.sync_detailed(
            client=client, body=models.OrderIn.from_dict(order_body())
        )
        assert placed.status_code == 201, placed.content
        order_id = placed.parsed.id
        # when all of it is refunded, and then 1.00 more is asked for
        whole = refund.sync_detailed(order_id, client=client, body=models.RefundIn.from_dict({}))
        more = refund.sync_detailed(
            order_id, client=client, body=models.RefundIn.from_dict({"amount": 100})
        )
    # then the refund is typed, and so is the refusal: a Problem whose type says why
    assert whole.status_code == 201, whole.content
    assert isinstance(whole.parsed, models.RefundCreatedOut)
    assert more.status_code == 409, more.content
    assert isinstance(more.parsed, models.Problem), more.content
    assert more.parsed.type_ == PROBLEM_BASE + "refund-exceeds-refundable"
    assert more.parsed.status == 409
    assert more.parsed.additional_properties["refundable"] == 0  # an extension member
