"""``/livez``, ``/healthz`` and ``/readyz``: the process answers; the database answers
and its schema is at the latest migration, or a 503 problem says which is not so."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from refundry.adapters.db.migrate import latest_revisions, migrate
from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from tests.conftest import Api
from tests.metrics_scrape import Scrape

PROBLEMS = "https://refundry.dev/problems/"


@contextmanager
def unmigrated_api(database_url: str) -> Iterator[TestClient]:
    """The API on a database it neither migrates nor reads at start (the signing key is
    given), as ``uvicorn refundry.entrypoints.api.asgi:app`` starts beside a migration."""
    container = bootstrap(
        Settings(database_url=database_url, secret_key="probe-test"),
        run_migrations=False,
    )
    try:
        with TestClient(create_app(container), raise_server_exceptions=False) as client:
            yield client
    finally:
        container.engine.dispose()


def test_live_and_ready_on_a_current_database(api: Api) -> None:
    assert api.client.get("/livez").json() == {"status": "ok"}
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "schema_revision": list(latest_revisions())}


def test_not_ready_until_the_schema_is_at_the_latest_migration(own_database_url: str) -> None:
    with unmigrated_api(own_database_url) as client:
        empty = client.get("/readyz")
        assert empty.status_code == 503
        assert empty.headers["content-type"] == "application/problem+json"
        assert empty.json()["type"] == PROBLEMS + "schema-not-current"
        assert empty.json()["schema_revision"] == []
        assert "no schema: run `refundry migrate`" in empty.json()["detail"]
        assert client.get("/livez").status_code == 200  # alive all the same

        engine = client.app.state.container.engine  # type: ignore[attr-defined]
        migrate(engine)
        assert client.get("/readyz").status_code == 200

        # As if this code were deployed before its migration ran: one revision behind.
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '0015'"))
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert behind.json()["type"] == PROBLEMS + "schema-not-current"
        assert (behind.json()["schema_revision"], behind.json()["latest"]) == (
            ["0015"],
            list(latest_revisions()),
        )
        assert "the schema is at 0015" in behind.json()["detail"]


def test_not_ready_without_a_database_while_metrics_still_answer(tmp_path: Path) -> None:
    with unmigrated_api(f"sqlite:///{tmp_path / 'no-such-folder' / 'refundry.db'}") as client:
        assert client.get("/livez").status_code == 200
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["type"] == PROBLEMS + "database-unavailable"
        scraped = client.get("/metrics")
        assert scraped.status_code == 200
        assert Scrape.of(scraped.text).value("refundry_stored_state_up") == 0
        assert "refundry_http_request_duration_seconds" in Scrape.of(scraped.text).families
