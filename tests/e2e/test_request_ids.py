"""Request ids (``X-Request-Id``) on every answer and, with ``REFUNDRY_LOG_FORMAT=json``,
on every log line of a real server, its access line included."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from tests.servers import free_port, running_server, venv_script

MADE_ID = re.compile(r"[0-9a-f]{32}")
LINK_TOKEN = "gift_Card-token-1234"  # a link's token opens the card: a secret


def test_a_json_logging_server_echoes_request_ids_and_logs_them_on_its_access_lines(
    tmp_path: Path,
) -> None:
    # given a merchant, and `refundry serve` logging JSON to a file
    database = f"sqlite:///{tmp_path / 'json-logs.db'}"
    container = bootstrap(Settings(database_url=database))
    shop = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Json Shop"))
    container.engine.dispose()
    auth = {"Authorization": f"Bearer {shop.api_key}"}
    missing_order = uuid.uuid4()
    port, log = free_port(), tmp_path / "server.log"
    command = [venv_script("refundry"), "serve", "--port", str(port)]
    env = {"REFUNDRY_DATABASE_URL": database, "REFUNDRY_LOG_FORMAT": "json"}
    with (
        running_server(command, port=port, env=env, log=log) as base,
        httpx.Client(base_url=base) as client,
    ):
        # when requests come with a request id, with none, and with one that is not sane
        given = client.get("/v1/orders", headers={**auth, "X-Request-Id": "abc123"})
        link = client.get(f"/l/{LINK_TOKEN}", headers={"X-Request-Id": "link-1"})
        made = client.get(f"/v1/orders/{missing_order}", headers=auth)
        insane = client.get("/v1/orders", headers={**auth, "X-Request-Id": "x" * 65})
        refused = client.get("/v1/orders", headers={"X-Request-Id": "no key sent"})
    written = log.read_text()

    # then each answer echoes its id: the caller's, or one made for it (problems too)
    assert (given.status_code, given.headers["x-request-id"]) == (200, "abc123")
    assert link.headers["x-request-id"] == "link-1"
    assert made.status_code == 404
    assert MADE_ID.fullmatch(made.headers["x-request-id"])
    assert MADE_ID.fullmatch(insane.headers["x-request-id"])  # replaced, not echoed
    assert refused.status_code == 401
    assert MADE_ID.fullmatch(refused.headers["x-request-id"])  # a space is not sane
    # and every line written is one JSON object, the logging never failed
    assert "Logging error" not in written
    lines = [json.loads(line) for line in written.splitlines()]
    access = {line["request_id"]: line for line in lines if line["logger"] == "uvicorn.access"}
    assert {"abc123", "link-1", made.headers["x-request-id"]} <= set(access)
    assert access["abc123"]["path"] == "/v1/orders"
    assert access["abc123"]["status"] == 200
    assert access["abc123"]["merchant_id"] == str(shop.merchant.id)
    # the gift-card link's token is masked in the access line's path and message
    assert access["link-1"]["path"] == "/l/[redacted]"
    assert '"GET /l/[redacted] HTTP/1.1"' in access["link-1"]["message"]
    assert LINK_TOKEN not in written
    # the order a path names is on its line once the caller is known
    assert access[made.headers["x-request-id"]]["order_id"] == str(missing_order)
    assert access[insane.headers["x-request-id"]]["status"] == 200
    assert "x" * 65 not in written


def test_a_500_answer_carries_the_request_id_too(sqlite_container: Container) -> None:
    # given a route that fails with a bug
    app = create_app(sqlite_container)

    @app.get("/v1/_boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    # when it is asked with a request id (the test client raises what reaches the server)
    with TestClient(app) as client:
        answer = client.get("/v1/_boom", headers={"X-Request-Id": "trace-500"})
    # then the internal-error problem echoes the id, and the error stopped there: logged
    # once, with the id, the connection kept
    assert answer.status_code == 500
    assert answer.json()["type"] == "https://refundry.dev/problems/internal-error"
    assert answer.headers["x-request-id"] == "trace-500"
