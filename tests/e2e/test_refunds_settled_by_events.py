"""A card refund settles from the gateway's event: the sandbox posts its signed refund
events to Refundry's API (a real server on a database of the test's own), and the worker's part
(in-process) records them without polling the gateway again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import bootstrap, payment_providers
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers import provider_work
from refundry.services.handlers.merchants import create_merchant
from refundry.services.handlers.provider_work import OutboxPolicy, ProviderWork
from tests.conftest import Api, assert_no_drift, order_body, sandbox_psp_server
from tests.servers import api_server, wait_for

# A worker that would not poll a processing refund for an hour: if the refund settles
# within the test, its event settled it.
PATIENT = OutboxPolicy(poll_base=timedelta(hours=1), poll_ceiling=timedelta(hours=1))


@dataclass
class Wired:
    api: Api
    psp: str
    work: ProviderWork

    def psp_state(self) -> dict[str, Any]:
        state: dict[str, Any] = httpx.get(f"{self.psp}/_sandbox/state").json()
        return state

    def refund(self, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        made = self.api.client.post(f"/v1/orders/{order_id}/refund", json=body)
        assert made.status_code == 201, made.text
        refund: dict[str, Any] = made.json()
        return refund

    def status(self, refund_id: str) -> str:
        status: str = self.api.client.get(f"/v1/refunds/{refund_id}").json()["status"]
        return status

    def settled_by_event(self, refund_id: str) -> str:
        """Run the worker's rounds until the refund leaves ``processing``."""

        def settled() -> bool:
            provider_work.process_outbox(self.work)
            return self.status(refund_id) not in ("started", "processing")

        wait_for(settled, seconds=20, what="the refund to settle from its event")
        return self.status(refund_id)


@pytest.fixture
def wired(own_database_url: str) -> Iterator[Wired]:
    """Refundry's API served on a database of this test's own (the in-process worker
    drains the whole outbox, and must meet no other test's refunds), a sandbox gateway
    sending its events there, and the in-process API and worker wired to that sandbox."""
    # bootstrap migrates the database, which the server expects done
    container = bootstrap(Settings(database_url=own_database_url, rate_limit_per_second=0))
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Shop"))
    with (
        api_server(own_database_url) as refundry,
        # The refund settles a moment after it is made, once the worker has recorded
        # the gateway's "pending" answer.
        sandbox_psp_server(
            settle_seconds=0.3, events_url=f"{refundry}/v1/providers/sandbox/events"
        ) as psp,
    ):
        settings = replace(container.settings, sandbox_psp_url=psp)
        providers = payment_providers(settings)
        own = replace(
            container,
            settings=settings,
            provider_work=ProviderWork(container.uow_factory, providers),
        )
        with TestClient(create_app(own), raise_server_exceptions=False) as client:
            client.headers.update({"Authorization": f"Bearer {merchant.api_key}"})
            yield Wired(
                Api(client, merchant, own),
                psp,
                ProviderWork(container.uow_factory, providers, PATIENT),
            )
    assert_no_drift(container, merchant.merchant.id)
    container.engine.dispose()


def statuses(api: Api, refund_id: str) -> list[str]:
    body = api.client.get(f"/v1/refunds/{refund_id}").json()
    return [change["status"] for change in body["status_history"]]


def test_a_card_refund_completes_from_the_gateways_event_without_a_poll(wired: Wired) -> None:
    # given a card order and a refund of part of it
    order = wired.api.client.post("/v1/orders", json=order_body()).json()
    made = wired.refund(order["id"], {"amount": 1200})
    # when the worker sends it, and the gateway's event comes
    provider_work.process_outbox(wired.work)
    # then it completes from the event
    assert wired.settled_by_event(made["id"]) == "completed"
    assert statuses(wired.api, made["id"]) == ["started", "processing", "completed"]
    # and the gateway was never asked about it after it was made
    reference = wired.api.client.get(f"/v1/refunds/{made['id']}").json()["provider_reference"]
    state = wired.psp_state()
    assert state["refund_reads"] == {}
    [delivery] = state["events"]["deliveries"]
    assert (delivery["refund"], delivery["type"], delivery["state"]) == (
        reference,
        "refund.updated",
        "delivered",
    )


def test_a_card_refund_fails_from_the_gateways_event_and_is_refundable_again(
    wired: Wired,
) -> None:
    # given the gateway will accept the next refund and then fail it
    httpx.post(f"{wired.psp}/_sandbox/faults", json={"fail_refunds": 1})
    order = wired.api.client.post("/v1/orders", json=order_body()).json()
    made = wired.refund(order["id"], {})  # everything
    # when the worker sends it, and the gateway's event comes
    provider_work.process_outbox(wired.work)
    # then it fails from the event, with the gateway's reason, and the money is open again
    assert wired.settled_by_event(made["id"]) == "failed"
    body = wired.api.client.get(f"/v1/refunds/{made['id']}").json()
    assert "declined" in body["failure_reason"]
    after = wired.api.client.get(f"/v1/orders/{order['id']}").json()
    assert (after["refundable"], after["order_status"]) == (order["total"], "paid")
    state = wired.psp_state()
    assert state["refund_reads"] == {}
    [delivery] = state["events"]["deliveries"]
    assert (delivery["refund"], delivery["type"]) == (body["provider_reference"], "refund.failed")
