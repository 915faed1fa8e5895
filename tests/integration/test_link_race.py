"""A consumer's click racing support's cancel on the same link: exactly one wins."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import httpx
import pytest

from refundry.bootstrap import Container
from refundry.services import transactions
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from tests.servers import api_server

ROUNDS = 12


@pytest.fixture
def server(container: Container) -> Iterator[str]:
    with api_server(container.engine.url.render_as_string(hide_password=False)) as base:
        yield base


@pytest.fixture
def shop(container: Container) -> NewMerchant:
    return transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Links"))


def test_click_and_cancel_never_both_win(server: str, shop: NewMerchant) -> None:
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    with httpx.Client(base_url=server, headers=headers, timeout=30) as api:
        race_rounds(server, api)


def race_rounds(server: str, api: httpx.Client) -> None:
    api.put("/v1/float", json={"currency": "EUR"}).raise_for_status()
    api.post("/v1/float/top-ups", json={"amount": 10_000_000}).raise_for_status()
    outcomes = []
    for _ in range(ROUNDS):
        # given a fresh link
        order = api.post(
            "/v1/orders",
            json={
                "currency": "EUR",
                "customer": {"email": "race@example.com"},
                "lines": [
                    {
                        "sku": "G",
                        "name": "G",
                        "quantity": 1,
                        "unit_price": 2500,
                        "kind": "gift_card_link",
                    }
                ],
                "payment": {"method": "float"},
            },
        ).json()
        link = order["lines"][0]["links"][0]
        barrier = Barrier(2)

        def click(link_url: str = link["url"], barrier: Barrier = barrier) -> int:
            with httpx.Client(base_url=server, timeout=30) as consumer:
                barrier.wait(timeout=10)
                return consumer.get(link_url).status_code

        def cancel(
            order_id: str = order["id"], link_id: str = link["id"], barrier: Barrier = barrier
        ) -> httpx.Response:
            with httpx.Client(base_url=server, headers=api.headers, timeout=30) as support:
                barrier.wait(timeout=10)
                return support.post(f"/v1/orders/{order_id}/items/{link_id}/cancel")

        # when the click and the cancel race
        with ThreadPoolExecutor(2) as pool:
            clicked, cancelled = pool.submit(click), pool.submit(cancel)
            click_status, cancel_response = clicked.result(), cancelled.result()
        final = api.get(f"/v1/orders/{order['id']}").json()["lines"][0]["links"][0]
        # then exactly one of them won, and the stored state agrees with the winner
        if cancel_response.status_code == 200:
            assert click_status == 410
            assert final["state"] == "cancelled"
            assert final["accessed"] is False
            outcomes.append("cancel")
        else:
            assert cancel_response.status_code == 409
            assert cancel_response.json()["type"].endswith("/link-accessed")
            assert click_status == 200
            assert final["state"] == "accessed"
            outcomes.append("click")
    assert len(outcomes) == ROUNDS
