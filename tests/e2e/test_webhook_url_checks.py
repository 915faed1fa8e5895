"""Webhook URLs at this machine or a private network are refused when registered (422),
not accepted and then retried for 72 hours; a deployment that sends to its own network
turns the check off with REFUNDRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import Container
from refundry.entrypoints.api.app import create_app
from tests.conftest import Api

PRIVATE_URLS = [
    "http://169.254.169.254/latest/meta-data",
    "http://[::ffff:127.0.0.1]/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://127.1/hook",
    "http://localhost:8080/hook",
    "http://[fd00::1]/hook",
    "http://evil@127.0.0.1/hook",
    "https://10.1.2.3/hook",
    "https://192.168.0.10/hook",
    "http://[::1]:9000/hook",
    "http://0.0.0.0/hook",
    "http://[64:ff9b::7f00:1]/hook",
]


@pytest.fixture
def strict(api: Api, container: Container) -> Iterator[TestClient]:
    """The API as deployed: private networks not allowed (the test containers allow them,
    as their receivers listen on loopback)."""
    settings = replace(container.settings, webhook_allow_private_networks=False)
    with TestClient(
        create_app(replace(container, settings=settings)), raise_server_exceptions=False
    ) as client:
        client.headers.update(api.headers)
        yield client


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_a_private_url_is_refused_at_registration(strict: TestClient, url: str) -> None:
    answer = strict.post(
        "/v1/webhook-endpoints", json={"url": url, "enabled_events": ["cancelled"]}
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"].endswith("/webhook-url-private")
    listed = strict.get("/v1/webhook-endpoints").json()["data"]
    assert all(endpoint["url"] != url for endpoint in listed)


def test_a_public_url_is_registered_and_cannot_be_changed_to_a_private_one(
    strict: TestClient,
) -> None:
    made = strict.post(
        "/v1/webhook-endpoints",
        json={"url": "https://hooks.merchant.example/refundry", "enabled_events": ["cancelled"]},
    )
    assert made.status_code == 201, made.text
    endpoint = made.json()["id"]
    moved = strict.patch(f"/v1/webhook-endpoints/{endpoint}", json={"url": "http://127.1/"})
    assert moved.status_code == 422, moved.text
    assert moved.json()["type"].endswith("/webhook-url-private")
    kept = strict.get(f"/v1/webhook-endpoints/{endpoint}").json()
    assert kept["url"] == "https://hooks.merchant.example/refundry"


def test_a_deployment_may_allow_its_private_network(api: Api) -> None:
    made = api.client.post(
        "/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hook", "enabled_events": ["cancelled"]},
    )
    assert made.status_code == 201, made.text
