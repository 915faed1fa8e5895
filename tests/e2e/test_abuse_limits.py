"""Abuse limits: requests per API key, sign-ins per address, a lockout after failed
sign-ins, request size; and no secret in any log line of a real server."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import Container
from refundry.domain.staff import Role
from refundry.entrypoints.api.app import create_app
from refundry.entrypoints.api.limits import TokenBuckets
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import make_user, sign_in
from tests.servers import free_port, running_server, venv_script


def test_a_bucket_allows_its_burst_then_one_request_per_refill() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token every half second
    assert buckets.take("b") == 0  # another key has its own bucket
    now[0] += 0.5
    assert buckets.take("a") == 0
    assert buckets.take("a") > 0


@pytest.fixture
def limited(container: Container) -> Iterator[TestClient]:
    settings = replace(
        container.settings,
        rate_limit_per_second=1,
        rate_limit_burst=3,
        sign_in_attempts_per_minute=4,
        sign_in_lockout_failures=3,
        max_request_bytes=4096,
    )
    with TestClient(
        create_app(replace(container, settings=settings)), raise_server_exceptions=False
    ) as client:
        yield client


def test_a_key_over_its_rate_gets_429_with_retry_after_and_others_go_on(
    api: Api, limited: TestClient
) -> None:
    headers = api.headers
    answers = [limited.get("/v1/orders", headers=headers) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "https://refundry.dev/problems/rate-limited"
    assert int(refused.headers["retry-after"]) >= 1
    other = transactions.run(api.container.uow_factory, lambda uow: create_merchant(uow, "B"))
    assert (
        limited.get("/v1/orders", headers={"Authorization": f"Bearer {other.api_key}"}).status_code
        == 200
    )


def test_a_body_over_the_limit_is_refused_whole_and_writes_nothing(
    api: Api, limited: TestClient
) -> None:
    body = order_body(external_id=f"BIG-{uuid.uuid4().hex[:6]}")
    body["customer"] = {"email": "big@example.com", "note": "x" * 5000}
    declared = limited.post("/v1/orders", json=body, headers=api.headers)
    assert declared.status_code == 413
    assert declared.json()["type"] == "https://refundry.dev/problems/request-too-large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"external_id": "' + b"y" * 3000
        yield b"z" * 3000 + b'"}'

    streamed = limited.post(
        "/v1/orders",
        content=chunks(),
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert api.client.get("/v1/orders").json()["data"] == []


def test_failed_sign_ins_lock_the_email_even_with_the_right_password(
    api: Api, limited: TestClient
) -> None:
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    assert [sign_in(limited, email, "wrong password!").status_code for _ in range(3)] == [
        401,
        401,
        401,
    ]
    locked = sign_in(limited, email)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 60
    assert "too many failed sign-ins" in locked.text
    assert "refundry_session" not in limited.cookies
    # An email nobody has is locked the same way: the lockout tells no one who exists.
    ghost = f"nobody-{uuid.uuid4().hex[:6]}@shop.example"
    for _ in range(3):
        sign_in(limited, ghost, "wrong password!")
    assert sign_in(limited, ghost).status_code == 429


def test_a_right_password_clears_the_failures_and_the_lock_ends(
    api: Api, container: Container
) -> None:
    settings = replace(
        container.settings, sign_in_lockout_failures=2, sign_in_lockout_minutes=5 / 60
    )
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    with TestClient(create_app(replace(container, settings=settings))) as client:
        assert sign_in(client, email, "wrong password!").status_code == 401
        assert sign_in(client, email).status_code == 303  # the streak ends here
        assert sign_in(client, email, "wrong password!").status_code == 401
        assert sign_in(client, email, "wrong password!").status_code == 401
        assert sign_in(client, email).status_code == 429
        time.sleep(5.1)
        assert sign_in(client, email).status_code == 303


def test_an_email_that_case_folding_lengthens_is_counted_not_a_500(
    api: Api, limited: TestClient
) -> None:
    email = "ß" * 320  # 640 characters once case folded
    assert [sign_in(limited, email, "wrong password!").status_code for _ in range(4)] == [
        401,
        401,
        401,
        429,
    ]


def test_sign_ins_from_one_address_are_rate_limited(api: Api, limited: TestClient) -> None:
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    codes = [sign_in(limited, email).status_code for _ in range(5)]
    assert codes == [303, 303, 303, 303, 429]


def test_no_secret_reaches_the_logs_of_a_real_server_and_worker(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'logs.db'}"
    env = {
        **os.environ,
        "REFUNDRY_DATABASE_URL": database,
        "REFUNDRY_DASHBOARD_SECURE_COOKIES": "0",
        "REFUNDRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
        "REFUNDRY_SANDBOX_PSP_URL": f"http://127.0.0.1:{free_port()}",  # nobody answers
    }
    refundry = venv_script("refundry")
    created = subprocess.run(
        [refundry, "merchants", "create", "Log Shop"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    api_key = re.search(r"rfk_[0-9a-f]+_[A-Za-z0-9_-]+", created.stdout + created.stderr)
    assert api_key, created.stdout
    merchant_id = re.search(r"[0-9a-f-]{36}", created.stdout)
    assert merchant_id
    user = subprocess.run(
        [refundry, "users", "create", "--merchant", merchant_id.group(0), "--email",
         "admin@log.example"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    password = user.stdout.rsplit("password: ", 1)[1].strip()
    port = free_port()
    log = tmp_path / "server.log"
    command = [refundry, "serve", "--port", str(port), "--with-worker"]
    with running_server(command, port=port, env=env, log=log) as base:
        secrets = _exercise(base, api_key.group(0), password)
    written = log.read_text()
    # The access log was on and wrote its line for the link, masked, with no logging error
    # (a traceback would quote the masked path too, so the line itself is looked for).
    assert "--- Logging error ---" not in written
    assert re.search(r'"GET /l/\[redacted\] HTTP/1\.1" \d{3}', written), written[-3000:]
    assert "POST /v1/orders" in written
    for name, secret in secrets.items():
        assert secret not in written, f"the {name} was logged"


def _exercise(base: str, api_key: str, password: str) -> dict[str, str]:
    """Every kind of secret the server handles, passed through it; returns them."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {api_key}"}) as client:
        endpoint = client.post(
            "/v1/webhook-endpoints",
            json={"url": f"http://127.0.0.1:{free_port()}/hook", "enabled_events": ["cancelled"]},
        )
        assert endpoint.status_code == 201, endpoint.text
        body = order_body(external_id="LOG-1")
        body["lines"] = [
            {"sku": "G", "name": "Gift", "quantity": 1, "unit_price": 2500,
             "kind": "gift_card_link"}
        ]  # fmt: skip
        order = client.post("/v1/orders", json=body)
        assert order.status_code == 201, order.text
        url = order.json()["lines"][0]["links"][0]["url"]
        token = url.rsplit("/", 1)[1]
        cancelled = client.post(f"/v1/orders/{order.json()['id']}/cancel", json={})
        assert cancelled.status_code == 200, cancelled.text
        assert client.get(url).status_code < 500  # the page says the link was cancelled
        client.get("/v1/orders", headers={"Authorization": "Bearer rfk_0_not-a-key"})
    with httpx.Client(base_url=base) as browser:
        signed_in = browser.post(
            "/dashboard/login", data={"email": "admin@log.example", "password": password}
        )
        browser.post("/dashboard/login", data={"email": "admin@log.example", "password": "x"})
        session = signed_in.cookies.get("refundry_session") or ""
    time.sleep(2)  # the worker tries the webhook (nobody listens) and logs why it failed
    secrets = {
        "API key": api_key,
        # rfk_<key id>_<secret>, parsed as the server does: the secret is everything after
        # the second "_" and may itself hold "_" (token_urlsafe), so never rsplit it.
        "API key's secret part": api_key.split("_", 2)[2],
        "webhook secret": endpoint.json()["secret"],
        "gift-card link token": token,
        "password": password,
    }
    if session:
        secrets["session cookie"] = session
    return secrets
