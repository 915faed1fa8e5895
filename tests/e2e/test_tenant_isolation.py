"""Every API endpoint that names a resource, called with another merchant's key and the
first merchant's ids: 404 (or 422 for a body it refuses first), never the data, never a
change. The list of endpoints is the app's own OpenAPI schema, so a new endpoint is probed
the day it is added."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from refundry.adapters.db.tables import webhooks as webhook_tables
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers import merchant_float
from refundry.services.handlers.merchants import create_merchant
from tests.conftest import Api, order_body

# Endpoints whose path does not name one merchant's resource.
NOT_TENANT_SCOPED = {"/v1/providers/{provider}/events"}  # signed by the provider, not a key


def a_merchants_world(api: Api) -> dict[str, str]:
    """One of everything the first merchant owns, by path parameter name."""
    api.client.put("/v1/float", json={"currency": "EUR", "invoice_cycle": "daily"})
    api.client.post("/v1/float/top-ups", json={"amount": 100_000})
    api.client.put("/v1/points-program", json={"points_per_unit": 1})
    endpoint = api.client.post(
        "/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hooks", "enabled_events": ["refunded"]},
    ).json()
    customer = {"email": "secret@a.example", "external_id": f"cust-{uuid.uuid4().hex[:6]}"}
    order = api.client.post("/v1/orders", json=order_body(customer=customer)).json()
    granted = api.client.post(
        f"/v1/customers/{customer['external_id']}/store-credit/adjustments",
        json={"currency": "EUR", "amount": 777, "note": "goodwill"},
    )
    assert granted.status_code == 201, granted.text
    refund = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"amount": 100, "method": "other"}
    ).json()
    mug = order["lines"][0]
    shipped = {"lines": [{"line_id": mug["id"], "quantity": 2}]}
    assert api.client.post(f"/v1/orders/{order['id']}/fulfil", json=shipped).is_success
    returned = api.client.post(
        f"/v1/orders/{order['id']}/returns", json={"lines": [{"line_id": mug["id"], "quantity": 1}]}
    ).json()
    gift = {"sku": "GIFT", "name": "Gift", "quantity": 1, "unit_price": 2500,
            "kind": "gift_card_link"}  # fmt: skip
    gifts = api.client.post(
        "/v1/orders", json=order_body(lines=[gift], payment={"method": "float"})
    ).json()
    event = api.client.get("/v1/events", params={"order_id": order["id"]}).json()["data"][0]
    with api.container.engine.begin() as connection:  # port 9 listens nowhere: nothing due
        connection.execute(
            sa.update(webhook_tables.webhook_deliveries)
            .where(webhook_tables.webhook_deliveries.c.endpoint_id == uuid.UUID(endpoint["id"]))
            .values(state="failed", last_error="test over")
        )
    later = datetime.now(UTC) + timedelta(days=3)
    transactions.run(
        api.container.uow_factory,
        lambda uow: merchant_float.close_due_cycles(uow, api.merchant.merchant.id, later),
    )
    invoice = api.client.get("/v1/invoices").json()["data"][0]
    return {
        "order_id": order["id"],
        "item_id": gifts["lines"][0]["links"][0]["id"],
        "link_id": gifts["lines"][0]["links"][0]["id"],
        "refund_id": refund["id"],
        "sku": "MUG",
        "invoice_id": invoice["id"],
        "endpoint_id": endpoint["id"],
        "event_id": event["id"],
        "customer": customer["external_id"],
        "gift_order_id": gifts["id"],
        "return_id": returned["id"],
    }


def test_another_merchants_key_finds_nothing_and_changes_nothing(api: Api) -> None:
    world = a_merchants_world(api)
    before = {
        path: api.client.get(path).text
        for path in (
            f"/v1/orders/{world['order_id']}",
            f"/v1/orders/{world['gift_order_id']}",
            f"/v1/returns/{world['return_id']}",
            f"/v1/webhook-endpoints/{world['endpoint_id']}",
            f"/v1/customers/{world['customer']}/points",
            f"/v1/customers/{world['customer']}/store-credit",
            "/v1/stock/MUG",
        )
    }
    other = transactions.run(api.container.uow_factory, lambda uow: create_merchant(uow, "B"))
    secrets = {value for value in world.values() if value != "MUG"} | {"secret@a.example"}
    probed = 0
    with TestClient(create_app(api.container), raise_server_exceptions=False) as stranger:
        stranger.headers["Authorization"] = f"Bearer {other.api_key}"
        for template, operations in api.client.get("/openapi.json").json()["paths"].items():
            if "{" not in template or template in NOT_TENANT_SCOPED:
                continue
            path = re.sub(r"\{(\w+)\}", lambda match: world[match.group(1)], template)
            for method in operations:
                answer = stranger.request(method.upper(), path, json=_body(method))
                probed += 1
                assert answer.status_code < 500, (method, path, answer.text)
                # an id the stranger sent may be echoed in the problem; nothing else may
                leaked = [
                    secret for secret in secrets if secret in answer.text and secret not in path
                ]
                assert not leaked, (method, path, answer.text)
                if template in (
                    "/v1/stock/{sku}",
                    "/v1/customers/{customer}/points",
                    "/v1/customers/{customer}/store-credit",
                ):
                    # the stranger's own (empty) stock and ledger, not the first merchant's
                    assert answer.status_code in (200, 422), (method, path, answer.text)
                    assert "777" not in answer.text, (method, path, answer.text)
                else:
                    assert answer.status_code in (404, 422), (method, path, answer.text)
    assert probed >= 22  # every tenant-scoped call the schema lists today (25)
    after = {path: api.client.get(path).text for path in before}
    assert after == before  # nothing the stranger did changed the first merchant's data


def _body(method: str) -> dict[str, Any] | None:
    """A body each kind of call accepts as well-formed, so the probe reaches the lookup."""
    return {} if method in ("post", "put", "patch") else None
