"""A database out of reach: every request is answered `503 database-unavailable` with
`Retry-After`, on the connection it came on; the worker goes on; all recovers after.

In-process tests point the system at a database nobody answers for (a SQLite file in a
directory that does not exist, a PostgreSQL port nobody listens on); the real server's
test puts a switchable TCP proxy between it and PostgreSQL (``tests/tcp_proxy.py``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from refundry.adapters.db.engine import create_engine
from refundry.adapters.db.read_model import SqlReadModelFactory
from refundry.adapters.db.unit_of_work import SqlUnitOfWork
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.entrypoints import cli
from refundry.entrypoints.api.app import create_app
from refundry.entrypoints.api.header_deadline import PROTOCOL
from refundry.entrypoints.worker import Worker
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from refundry.services.unit_of_work import CommitOutcomeUnknown
from tests.conftest import Api, fresh_postgres_database, order_body
from tests.servers import free_port, running_server, venv_script, wait_for, worker_process
from tests.tcp_proxy import switchable_proxy

PROBLEM = "https://refundry.dev/problems/database-unavailable"
# Any well-formed key: it is never found, as the database is never reached.
SOME_KEY = "rfk_0000000000004000800000000000de70_not-a-real-secret"


def unreachable_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-directory' / 'refundry.db'}"
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/refundry"


@pytest.fixture(params=["sqlite", "postgres"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Container]:
    """The system on a database that cannot be reached (no PostgreSQL server needed)."""
    settings = Settings(
        database_url=unreachable_url(request.param, tmp_path),
        secret_key="quotes-are-signed-with-this",
        dashboard_secure_cookies=False,
    )
    container = bootstrap(settings, run_migrations=False)
    yield container
    container.engine.dispose()


def assert_database_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"] == PROBLEM


def test_api_requests_are_answered_503_and_no_exception_leaves_the_app(
    unreachable: Container,
) -> None:
    # raise_server_exceptions: an exception reaching the server (as it reached uvicorn,
    # which then closed the connection) fails the test
    with TestClient(create_app(unreachable), raise_server_exceptions=True) as client:
        client.headers["Authorization"] = f"Bearer {SOME_KEY}"
        answers = [
            client.get("/v1/merchant"),
            client.get("/v1/orders"),
            client.post("/v1/orders", json=order_body(), headers={"Idempotency-Key": "k-1"}),
            client.get("/v1/reconciliation/discrepancies.csv"),
        ]
    for response in answers:
        assert_database_unavailable(response)


def test_the_dashboard_says_so_in_plain_words(unreachable: Container) -> None:
    with TestClient(create_app(unreachable), raise_server_exceptions=True) as client:
        client.cookies["refundry_session"] = "some-session"
        page = client.get("/dashboard/orders")
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert int(page.headers["retry-after"]) > 0
    assert "The database cannot be reached just now." in page.text


def test_a_csv_whose_first_read_fails_is_a_503_not_a_200_cut_short(
    api: Api, tmp_path: Path
) -> None:
    # given the key is read from the working database, and the report's rows from one
    # that cannot be reached
    cut_off = create_engine(unreachable_url("sqlite", tmp_path))
    cut_off_reads = SqlReadModelFactory(cut_off)
    # (the discrepancy CSV reads through the reads that may lag: a replica, if one is set)
    container = replace(api.container, read_models=cut_off_reads, lagging_reads=cut_off_reads)
    with TestClient(create_app(container), raise_server_exceptions=True) as client:
        client.headers.update(api.headers)
        response = client.get("/v1/reconciliation/discrepancies.csv")
    # then the stream had not started: the answer is the problem
    assert_database_unavailable(response)
    cut_off.dispose()


def test_a_worker_round_goes_on_through_an_outage(
    unreachable: Container, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="refundry.worker"):
        Worker(unreachable).run_round(force=True)  # raises nothing
    told = [record for record in caplog.records if record.name == "refundry.worker"]
    assert told
    assert all("database unavailable, tried again" in record.getMessage() for record in told)
    assert all(record.exc_info is None for record in told)


def test_a_cli_command_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # (PostgreSQL: a SQLite file that does not exist is refused before anything connects)
    monkeypatch.setenv("REFUNDRY_DATABASE_URL", unreachable_url("postgres", tmp_path))
    monkeypatch.setattr("sys.argv", ["refundry", "verify"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 1
    printed = capsys.readouterr().err.strip().splitlines()
    assert len(printed) == 1  # no traceback
    assert printed[0].startswith("refundry: the database cannot be reached")
    assert printed[0].endswith("(database-unavailable)")


@pytest.mark.postgres
def test_a_real_server_answers_an_outage_with_503_on_one_connection_and_recovers(
    sandbox_psp_url: str,
) -> None:
    with fresh_postgres_database() as url:
        setup = bootstrap(Settings(database_url=url))  # migrates
        key = transactions.run(setup.uow_factory, lambda uow: create_merchant(uow, "Shop")).api_key
        setup.engine.dispose()
        database = make_url(url)
        with switchable_proxy((database.host or "127.0.0.1", database.port or 5432)) as proxy:
            proxied = database.set(host="127.0.0.1", port=proxy.port)
            through_proxy = proxied.render_as_string(hide_password=False)
            with (
                worker_process(through_proxy, sandbox_psp_url) as worker,
                serve(through_proxy) as base,
                httpx.Client(base_url=base, timeout=30) as client,
            ):
                client.headers["Authorization"] = f"Bearer {key}"
                streams: list[object] = []

                def call(method: str, path: str, **options: Any) -> httpx.Response:
                    response = client.request(method, path, **options)
                    streams.append(response.extensions["network_stream"])
                    return response

                placed = {"json": order_body(), "headers": {"Idempotency-Key": uuid.uuid4().hex}}
                kinds = [
                    ("GET", "/v1/merchant", {}),
                    ("GET", "/v1/orders", {}),
                    ("POST", "/v1/orders", placed),
                    ("GET", "/v1/reconciliation/discrepancies.csv", {}),
                ]
                # given a server that answers
                assert call("GET", "/v1/merchant").status_code == 200
                # when its connections to the database break under their next statement
                proxy.cut_on_next_use()
                during = [call(method, path, **options) for method, path, options in kinds]
                # and then new connections are refused
                proxy.refuse()
                during += [call(method, path, **options) for method, path, options in kinds]
                # then every request was answered 503 database-unavailable
                for response in during:
                    assert_database_unavailable(response)
                # when the database is back
                proxy.restore()
                order = call("POST", "/v1/orders", **placed)
                # then the order that was refused is placed now (its key was not kept)
                assert order.status_code == 201, order.text
                mug = order.json()["lines"][0]
                refund = call(
                    "POST",
                    f"/v1/orders/{order.json()['id']}/refund",
                    json={"lines": [{"line_id": mug["id"], "quantity": 1}]},
                )
                assert refund.status_code == 201, refund.text
                # and the worker, which lived through it, sends the refund to the provider
                refund_path = f"/v1/refunds/{refund.json()['id']}"
                wait_for(
                    lambda: call("GET", refund_path).json()["status"] == "completed",
                    seconds=30,
                    what="the worker to complete the refund",
                )
                assert worker.poll() is None
                # and the client made every request on the one connection it opened
                assert all(stream is streams[0] for stream in streams)


def serve(database_url: str) -> AbstractContextManager[str]:
    """The API under uvicorn, one process, with the HTTP protocol ``refundry serve`` uses."""
    port = free_port()
    command = [venv_script("uvicorn"), "refundry.entrypoints.api.asgi:app", "--port", str(port)]
    command += ["--http", PROTOCOL, "--log-level", "warning"]
    return running_server(command, port=port, env={"REFUNDRY_DATABASE_URL": database_url})


def test_a_commit_whose_outcome_is_unknown_is_no_invitation_to_send_it_again(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an order, and a database connection that will be lost at the next COMMIT
    order = api.client.post("/v1/orders", json=order_body()).json()

    def lost_at_commit(self: SqlUnitOfWork) -> None:
        raise CommitOutcomeUnknown("the change may have been made")

    monkeypatch.setattr(SqlUnitOfWork, "commit", lost_at_commit)
    refund = f"/v1/orders/{order['id']}/refund"
    # when a refund without an Idempotency-Key meets it: a 500 that says so, no Retry-After
    # (sent again, it could refund twice)
    unkeyed = api.client.post(refund, json={"amount": 100})
    assert unkeyed.status_code == 500
    assert unkeyed.json()["type"].endswith("/commit-outcome-unknown")
    assert "retry-after" not in unkeyed.headers
    # and one with a key: a 503 to send again with the same key (its stored answer comes
    # back if the refund was made)
    keyed = api.client.post(refund, json={"amount": 100}, headers={"Idempotency-Key": "k-1"})
    assert keyed.status_code == 503
    assert keyed.json()["type"].endswith("/commit-outcome-unknown")
    assert int(keyed.headers["retry-after"]) > 0
