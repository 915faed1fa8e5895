"""Refunds racing on one order number its webhook events 1, 2, 3... with no gap and no
repeat: one event per committed refund, none for a refused or replayed request, and the
numbers in the order the changes committed.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import httpx
import sqlalchemy as sa

from refundry.adapters.db.tables import webhooks as webhook_tables
from tests.conftest import Api, order_body

THREADS = 8
REFUNDS_PER_THREAD = 6
AMOUNT = 300  # 48 x 3.00 EUR is more than the order's 130.46 EUR: some must be refused


def refund_repeatedly(api: Api, order_id: str, thread: int, barrier: Barrier) -> list[Any]:
    """Each refund is sent twice with one Idempotency-Key: the second is a replay."""
    barrier.wait(timeout=30)
    answers = []
    for number in range(REFUNDS_PER_THREAD):
        key = f"race-{thread}-{number}-{uuid.uuid4().hex[:6]}"
        first = api.client.post(
            f"/v1/orders/{order_id}/refund",
            json={"amount": AMOUNT},
            headers={"Idempotency-Key": key},
        )
        again = api.client.post(
            f"/v1/orders/{order_id}/refund",
            json={"amount": AMOUNT},
            headers={"Idempotency-Key": key},
        )
        answers.append((first, again))
    return answers


def listed_events(api: Api, order_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"order_id": order_id, "limit": 100}
    while True:
        page = api.client.get("/v1/events", params=params)
        assert page.status_code == 200, page.text
        events += page.json()["data"]
        if not page.json()["has_more"]:
            return events
        params["starting_after"] = events[-1]["id"]


def test_racing_refunds_number_an_orders_events_one_to_n_without_gaps_or_repeats(
    api: Api,
) -> None:
    # given a captured order of 130.46 EUR
    made = api.client.post("/v1/orders", json=order_body())
    assert made.status_code == 201, made.text
    order = made.json()
    # when 8 threads each make 6 refunds of 3.00 EUR at once, each request sent twice
    barrier = Barrier(THREADS)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [
            pool.submit(refund_repeatedly, api, order["id"], thread, barrier)
            for thread in range(THREADS)
        ]
        answers: list[tuple[httpx.Response, httpx.Response]] = [
            pair for future in futures for pair in future.result()
        ]
    winners = [first.json()["id"] for first, _ in answers if first.status_code == 201]
    refused = [first for first, _ in answers if first.status_code != 201]
    assert len(winners) == order["total"] // AMOUNT
    assert refused, "the race must also refuse some refunds"
    for first, again in answers:
        assert first.status_code in (201, 409), first.text
        assert (again.status_code, again.text) == (first.status_code, first.text)

    # then the order's events are numbered 1..N, one per committed refund
    events = listed_events(api, order["id"])
    sequences = sorted(event["sequence"] for event in events)
    assert sequences == list(range(1, len(winners) + 1))
    assert {event["type"] for event in events} == {"refunded"}
    assert sorted(event["payload"]["data"]["refund"]["id"] for event in events) == sorted(winners)
    for event in events:
        assert event["payload"]["data"]["sequence"] == event["sequence"]
        assert event["payload"]["id"] == event["id"]
        # the numbers follow the commits: event k saw k refunds on the order
        assert event["payload"]["data"]["order"]["refunded"] == AMOUNT * event["sequence"]
    # and the table holds nothing the API did not list
    with api.container.engine.connect() as connection:
        stored = connection.execute(
            sa.select(webhook_tables.webhook_events.c.sequence).where(
                webhook_tables.webhook_events.c.order_id == uuid.UUID(order["id"])
            )
        ).scalars()
        assert sorted(stored) == sequences
    final = api.client.get(f"/v1/orders/{order['id']}").json()
    assert final["refunded"] == AMOUNT * len(winners)
