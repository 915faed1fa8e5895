"""Webhooks end to end: a real receiver on loopback verifies every delivery with the
``standardwebhooks`` package; the worker's part runs in-process (``deliver``)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa

from refundry.adapters.db.tables import webhooks as webhook_tables
from refundry.adapters.webhooks.http_sender import HttpWebhookSender
from refundry.domain.webhooks import DeliveryPolicy
from refundry.entrypoints.api.schemas_webhooks import WebhookPayload
from refundry.entrypoints.webhook_listener import ListenerState, running_listener
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from refundry.services.handlers.webhook_delivery import WebhookWork, deliver_due_webhooks
from tests.conftest import Api, order_body
from tests.e2e.test_provider_events import EVENTS, refund_event, signed
from tests.servers import free_port

ALL_EVENTS = ["cancelled", "refunded", "refund.updated", "auto_refunded"]
# Retries come at once, so a test can walk a delivery through its whole schedule.
IMPATIENT = DeliveryPolicy(
    timeout=timedelta(seconds=2),
    retry_base=timedelta(0),
    retry_ceiling=timedelta(0),
    give_up_after=timedelta(days=3),
)


def deliver(api: Api, policy: DeliveryPolicy = IMPATIENT, rounds: int = 1) -> int:
    sender = HttpWebhookSender(policy.timeout, allow_private_networks=True)
    work = WebhookWork(api.container.uow_factory, sender, policy, jitter=lambda: 0.0)
    return sum(deliver_due_webhooks(work) for _ in range(rounds))


@pytest.fixture
def receiver() -> Iterator[tuple[str, ListenerState]]:
    state = ListenerState()
    with running_listener(free_port(), state) as url:
        yield url, state


def register(api: Api, url: str, events: list[str] | None = None) -> dict[str, Any]:
    made = api.client.post(
        "/v1/webhook-endpoints",
        json={"url": url, "enabled_events": events or ALL_EVENTS, "description": "test"},
    )
    assert made.status_code == 201, made.text
    endpoint: dict[str, Any] = made.json()
    return endpoint


def listening(api: Api, receiver: tuple[str, ListenerState]) -> dict[str, Any]:
    url, state = receiver
    endpoint = register(api, url)
    state.signing_secrets.append(endpoint["secret"])
    return endpoint


def ingest(api: Api, **overrides: Any) -> dict[str, Any]:
    made = api.client.post("/v1/orders", json=order_body(**overrides))
    assert made.status_code == 201, made.text
    order: dict[str, Any] = made.json()
    return order


def test_a_refund_reaches_the_receiver_signed_with_its_full_context(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    _, state = receiver
    listening(api, receiver)
    order = ingest(api)
    mug = order["lines"][0]
    made = api.client.post(
        f"/v1/orders/{order['id']}/refund",
        json={"lines": [{"line_id": mug["id"], "quantity": 1}], "reason": "chipped"},
        headers={"Idempotency-Key": "refund-chipped-mug"},
    )
    assert made.status_code == 201, made.text
    refund_now = api.client.get(f"/v1/refunds/{made.json()['id']}").json()

    assert deliver(api) == 1
    [received] = state.delivered()
    assert received.verified
    payload = WebhookPayload.model_validate(received.payload)  # the documented shape, exactly
    assert payload.type == "refunded"
    assert received.webhook_id == str(payload.id)
    data = received.payload["data"]
    assert data["sequence"] == 1
    assert data["idempotency_key"] == "refund-chipped-mug"
    assert data["actor"]["type"] == "api_key"
    assert data["order"]["id"] == order["id"]
    assert data["order"]["external_id"] == order["external_id"]
    assert data["order"]["order_status"] == "partially_refunded"
    # The refund object is the API's, as it stood when the event was made.
    assert data["refund"] == refund_now
    assert data["refund"]["reason"] == "chipped"
    assert [(line["line_id"], line["quantity"]) for line in data["refund"]["lines"]] == [
        (mug["id"], 1)
    ]


def test_every_refund_status_change_is_an_event_with_increasing_sequence_numbers(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    _, state = receiver
    listening(api, receiver)
    order = ingest(api)
    api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 500})
    api.settle()  # started -> processing -> completed at the sandbox gateway
    api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 300})
    api.settle()
    deliver(api)

    events = [received.payload for received in state.delivered()]
    assert all(received.verified for received in state.delivered())
    ordered = sorted(events, key=lambda event: event["data"]["sequence"])
    assert [event["data"]["sequence"] for event in ordered] == list(range(1, len(events) + 1))
    assert [
        (event["type"], event["data"].get("previous_status"), event["data"]["refund"]["status"])
        for event in ordered
    ] == [
        ("refunded", None, "started"),
        ("refund.updated", "started", "processing"),
        ("refund.updated", "processing", "completed"),
        ("refunded", None, "started"),
        ("refund.updated", "started", "processing"),
        ("refund.updated", "processing", "completed"),
    ]
    assert {event["data"]["actor"]["type"] for event in ordered[1:3]} == {"system"}
    listed = api.client.get("/v1/events", params={"order_id": order["id"]}).json()
    assert [event["data"]["sequence"] for event in (e["payload"] for e in listed["data"])] == [
        6,
        5,
        4,
        3,
        2,
        1,
    ]


def test_a_cancel_says_which_units_stopped_and_what_money_went_back(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    _, state = receiver
    listening(api, receiver)
    order = ingest(api)
    cancelled = api.client.post(
        f"/v1/orders/{order['id']}/cancel",
        json={"reason": "customer changed their mind"},
        headers={"Idempotency-Key": "cancel-1"},
    )
    assert cancelled.status_code == 200, cancelled.text
    deliver(api)
    [received] = state.delivered()
    payload = received.payload
    WebhookPayload.model_validate(payload)
    assert payload["type"] == "cancelled"
    data = payload["data"]
    assert data["order"]["order_status"] == "cancelled"
    assert data["cancellation"]["scope"] == "order"
    assert data["cancellation"]["reason"] == "customer changed their mind"
    assert {(line["sku"], line["quantity"]) for line in data["cancellation"]["lines"]} == {
        (line["sku"], line["quantity"]) for line in order["lines"]
    }
    assert data["refund"]["kind"] == "cancellation"
    assert data["refund"]["amount"] == order["total"]
    assert data["idempotency_key"] == "cancel-1"


def test_an_endpoint_gets_only_the_event_types_it_chose(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    url, state = receiver
    endpoint = register(api, url, ["cancelled"])
    state.signing_secrets.append(endpoint["secret"])
    order = ingest(api)
    api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 100})
    api.settle()
    other = ingest(api)
    api.client.post(f"/v1/orders/{other['id']}/cancel", json={})
    deliver(api)
    assert [received.payload["type"] for received in state.delivered()] == ["cancelled"]


def test_a_receiver_down_then_up_gets_everything_and_nothing_twice(api: Api) -> None:
    port = free_port()
    endpoint = register(api, f"http://127.0.0.1:{port}/webhooks")
    orders = [ingest(api) for _ in range(3)]
    for order in orders:
        api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 100})

    assert deliver(api, rounds=3) >= 3  # nothing listens: every attempt fails
    event_ids = [event["id"] for event in api.client.get("/v1/events").json()["data"]]
    assert len(event_ids) == 3
    for event_id in event_ids:
        log = api.client.get(f"/v1/events/{event_id}/deliveries").json()["data"]
        assert log[0]["state"] == "pending"
        assert log[0]["attempts"] >= 1
        assert log[0]["log"][0]["status_code"] is None
        assert log[0]["log"][0]["error"]
    assert api.client.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()["failing_since"]

    state = ListenerState(signing_secrets=[endpoint["secret"]])
    with running_listener(port, state):
        deliver(api, rounds=2)
    assert sorted(received.webhook_id for received in state.delivered()) == sorted(event_ids)
    assert all(received.verified for received in state.delivered())
    for event_id in event_ids:
        [delivery] = api.client.get(f"/v1/events/{event_id}/deliveries").json()["data"]
        assert delivery["state"] == "delivered"
        assert delivery["log"][-1]["status_code"] == 200
        assert delivery["log"][-1]["response_excerpt"] == '{"ok":true}'
    assert api.client.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()["failing_since"] is None


def test_a_delivery_is_given_up_after_its_schedule_and_can_be_redelivered(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    _, state = receiver
    endpoint = listening(api, receiver)
    state.status_code = 500
    order = ingest(api)
    api.client.post(f"/v1/orders/{order['id']}/cancel", json={})
    no_patience = replace(IMPATIENT, give_up_after=timedelta(0))
    deliver(api, no_patience)
    [event] = api.client.get("/v1/events").json()["data"]
    [delivery] = api.client.get(f"/v1/events/{event['id']}/deliveries").json()["data"]
    assert delivery["state"] == "failed"
    assert delivery["log"][0]["status_code"] == 500
    assert delivery["last_error"].startswith("gave up")

    state.status_code = 200
    again = api.client.post(
        f"/v1/events/{event['id']}/redeliver", json={"endpoint_id": endpoint["id"]}
    )
    assert again.status_code == 202, again.text
    assert again.json()["data"][0]["state"] == "pending"
    deliver(api)
    ids = [received.webhook_id for received in state.delivered()]
    assert ids == [event["id"], event["id"]]  # the same id: receivers drop the repeat
    [delivery] = api.client.get(f"/v1/events/{event['id']}/deliveries").json()["data"]
    assert delivery["state"] == "delivered"
    assert [attempt["status_code"] for attempt in delivery["log"]] == [500, 200]


def test_an_endpoint_failing_for_days_is_disabled_and_says_why(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    _, state = receiver
    endpoint = listening(api, receiver)
    state.status_code = 503
    order = ingest(api)
    api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 100})
    deliver(api)  # the first failure starts the clock
    with api.container.engine.begin() as connection:
        connection.execute(
            sa.update(webhook_tables.webhook_endpoints).values(
                failing_since=datetime.now(UTC) - timedelta(days=6)
            )
        )
    deliver(api)
    shown = api.client.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()
    assert shown["status"] == "disabled"
    assert "503" in shown["disabled_reason"]
    api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 100})
    before = len(state.delivered())
    deliver(api)
    assert len(state.delivered()) == before  # a disabled endpoint is owed nothing new

    enabled = api.client.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": True})
    assert enabled.json()["status"] == "enabled"
    assert enabled.json()["disabled_reason"] is None


def test_rotation_keeps_deliveries_valid_for_either_secret_during_the_grace_period(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    _, state = receiver
    endpoint = listening(api, receiver)
    rotated = api.client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret",
        json={"grace_period_seconds": 3600},
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"]
    assert rotated.json()["previous_secret_expires_at"]
    state.signing_secrets.append(new_secret)  # [old, new]
    order = ingest(api)
    api.client.post(f"/v1/orders/{order['id']}/cancel", json={})
    deliver(api)
    [received] = state.delivered()
    assert received.verified_with == (0, 1)  # a receiver holding either secret verifies

    ended = api.client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret",
        json={"grace_period_seconds": 0},
    )
    state.signing_secrets.append(ended.json()["secret"])  # [old, middle, newest]
    other = ingest(api)
    api.client.post(f"/v1/orders/{other['id']}/cancel", json={})
    deliver(api)
    assert state.delivered()[-1].verified_with == (2,)  # no grace: only the newest signs


def test_endpoints_are_listed_updated_and_deleted_and_secrets_are_shown_once(api: Api) -> None:
    endpoint = register(api, "https://example.test/hooks")
    listed = api.client.get("/v1/webhook-endpoints").json()["data"]
    assert [shown["id"] for shown in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in api.client.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()
    patched = api.client.patch(
        f"/v1/webhook-endpoints/{endpoint['id']}",
        json={"url": "https://example.test/v2", "enabled_events": ["refunded"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["url"] == "https://example.test/v2"
    assert patched.json()["enabled_events"] == ["refunded"]
    deleted = api.client.delete(
        f"/v1/webhook-endpoints/{endpoint['id']}", headers={"Idempotency-Key": "delete-1"}
    )
    assert (deleted.status_code, deleted.headers.get("idempotent-replayed")) == (204, None)
    again = api.client.delete(
        f"/v1/webhook-endpoints/{endpoint['id']}", headers={"Idempotency-Key": "delete-1"}
    )
    assert (again.status_code, again.headers.get("idempotent-replayed")) == (204, "true")
    gone = api.client.get(f"/v1/webhook-endpoints/{endpoint['id']}")
    assert gone.status_code == 404
    assert gone.json()["type"].endswith("/webhook-endpoint-not-found")
    assert api.client.get("/v1/webhook-endpoints").json()["data"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.test/x", "enabled_events": ["refunded"]},
        {"url": "not a url", "enabled_events": ["refunded"]},
        {"url": "https://example.test/x", "enabled_events": []},
        {"url": "https://example.test/x", "enabled_events": ["shipped"]},
        {"url": "https://example.test/\x00", "enabled_events": ["refunded"]},
        {"url": "https://example.test/x", "enabled_events": ["refunded"], "secret": "mine"},
        {"url": "http://example.com:abc/hook", "enabled_events": ["refunded"]},
        {"url": "http://[::1/x", "enabled_events": ["refunded"]},
        {"url": "https://xn--/", "enabled_events": ["refunded"]},
        {"url": f"http://{'a' * 70}.example/", "enabled_events": ["refunded"]},
        {"url": " https://example.test/x", "enabled_events": ["refunded"]},
        {"url": "https://example.test/x\n", "enabled_events": ["refunded"]},
    ],
)
def test_a_bad_endpoint_is_refused_with_a_problem(api: Api, body: dict[str, Any]) -> None:
    refused = api.client.post("/v1/webhook-endpoints", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert api.client.get("/v1/webhook-endpoints").json()["data"] == []


def test_another_merchants_endpoints_and_events_are_not_found(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    endpoint = listening(api, receiver)
    order = ingest(api)
    api.client.post(f"/v1/orders/{order['id']}/cancel", json={})
    [event] = api.client.get("/v1/events").json()["data"]
    other = transactions.run(api.container.uow_factory, lambda uow: create_merchant(uow, "Other"))
    headers = {"Authorization": f"Bearer {other.api_key}"}
    for path in (
        f"/v1/webhook-endpoints/{endpoint['id']}",
        f"/v1/events/{event['id']}",
        f"/v1/events/{event['id']}/deliveries",
    ):
        assert api.client.get(path, headers=headers).status_code == 404
    assert (
        api.client.post(f"/v1/events/{event['id']}/redeliver", headers=headers).status_code == 404
    )
    assert (
        api.client.delete(f"/v1/webhook-endpoints/{endpoint['id']}", headers=headers).status_code
        == 404
    )
    assert api.client.get("/v1/events", headers=headers).json()["data"] == []


def test_a_change_that_rolls_back_leaves_no_event(api: Api) -> None:
    register(api, "https://example.test/hooks")
    order = ingest(api)
    refused = api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 10**9})
    assert refused.status_code == 409
    assert api.client.get("/v1/events").json()["data"] == []
    with api.container.engine.connect() as connection:
        assert (
            connection.execute(
                sa.select(sa.func.count())
                .select_from(webhook_tables.webhook_deliveries)
                .where(webhook_tables.webhook_deliveries.c.merchant_id == api.merchant.merchant.id)
            ).scalar_one()
            == 0
        )


def test_events_page_newest_first(api: Api) -> None:
    orders = [ingest(api) for _ in range(3)]
    for order in orders:
        api.client.post(f"/v1/orders/{order['id']}/cancel", json={})
    first = api.client.get("/v1/events", params={"limit": 2}).json()
    assert first["has_more"] is True
    rest = api.client.get(
        "/v1/events", params={"limit": 2, "starting_after": first["data"][-1]["id"]}
    ).json()
    assert rest["has_more"] is False
    seen = [event["order_id"] for event in first["data"] + rest["data"]]
    assert seen == [order["id"] for order in reversed(orders)]
    assert api.client.get("/v1/events", params={"type": "refunded"}).json()["data"] == []


def test_a_refund_made_in_the_providers_dashboard_is_announced_as_refunded_by_the_provider(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    # given an order whose payment the gateway knows, and a receiver
    _, state = receiver
    listening(api, receiver)
    reference = f"pi_{uuid.uuid4().hex[:12]}"
    order = ingest(api, payment={"method": "card", "reference": reference})
    # when the gateway says it was refunded in its own dashboard (twice, as gateways do)
    event = refund_event(
        {"id": "re_dash_hook", "amount": 700, "status": "succeeded", "payment_intent": reference}
    )
    api.client.post(EVENTS, **signed(event))
    api.client.post(EVENTS, **signed(event))
    api.settle()
    deliver(api)
    # then the receiver hears of it once, as a completed external refund by the provider
    [received] = state.delivered()
    data = received.payload["data"]
    assert received.payload["type"] == "refunded"
    assert data["order"]["id"] == order["id"]
    assert data["order"]["order_status"] == "partially_refunded"
    assert (data["refund"]["kind"], data["refund"]["status"], data["refund"]["amount"]) == (
        "external",
        "completed",
        700,
    )
    assert data["actor"] == {"type": "provider", "id": None}
    assert data["idempotency_key"] is None


def test_an_endpoint_made_after_an_event_gets_it_when_redelivered_however_often(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    # given an event from before any endpoint existed
    order = ingest(api)
    api.client.post(f"/v1/orders/{order['id']}/cancel", json={})
    [event] = api.client.get("/v1/events").json()["data"]
    _, state = receiver
    listening(api, receiver)
    # when it is redelivered twice before the worker runs
    for _ in range(2):
        again = api.client.post(f"/v1/events/{event['id']}/redeliver")
        assert again.status_code == 202, again.text
        assert [delivery["state"] for delivery in again.json()["data"]] == ["pending"]
    deliver(api)
    # then the new endpoint gets it once, with its original id
    assert [received.webhook_id for received in state.delivered()] == [event["id"]]


def test_a_sender_refuses_private_addresses_unless_allowed(
    receiver: tuple[str, ListenerState],
) -> None:
    url, state = receiver
    strict = HttpWebhookSender(timedelta(seconds=2))
    attempt = strict.send(url, "evt-1", "{}", ["whsec_" + "A" * 32], datetime.now(UTC))
    assert attempt.status_code is None
    assert attempt.error == "refused: 127.0.0.1 is a private or loopback address"
    assert state.delivered() == []


def test_a_request_whose_sender_died_mid_body_is_not_a_delivery(
    receiver: tuple[str, ListenerState],
) -> None:
    # A worker killed while sending leaves the receiver half a body: that never arrived
    # (it cannot verify), and must not count as a delivery with another body (a crash
    # storm did count it so, seed 125272). A whole request after it is kept.
    url, state = receiver
    parts = urlsplit(url)
    body = b'{"type":"refund.updated","data":{}}'
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"webhook-id: msg_cut\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port)) as sent:
        sent.sendall(head + body[:10])
        sent.shutdown(socket.SHUT_WR)
        assert sent.recv(100) == b""  # no answer: the receiver only closes
    whole = httpx.post(url, content=body, headers={"webhook-id": "msg_whole"})
    assert whole.status_code == 400  # no secret registered here: not verified, but kept
    assert [item.webhook_id for item in state.delivered()] == ["msg_whole"]
