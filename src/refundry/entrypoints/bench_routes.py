"""The HTTP benchmark's baseline: one INSERT in one transaction through the API's stack.

``python -m benchmarks`` compares every scenario with this endpoint in the same run: it
pays what every write request pays (uvicorn, routing, a validated JSON body, the API-key
dependency, a write transaction begun as the unit of work begins one, with its commit, a
JSON response) and does the least useful work, one row in one table. It exists only
in the application the CLI wires for the benchmark (``refundry.entrypoints.cli:bench_api``,
which ``refundry serve`` runs with ``REFUNDRY_BENCH_ENDPOINTS=1``): the API itself never
imports this development-only module. It is never in the OpenAPI schema, and its table
is not part of the migrated schema: the endpoint's set-up creates it when missing.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Response
from pydantic import Field
from sqlalchemy.engine import Engine

from refundry.adapters.db.engine import begin
from refundry.adapters.db.tables.base import UTC_TIME
from refundry.entrypoints.api import fields
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.responses import json_response
from refundry.services.clock import utcnow

# Its own metadata: the production schema (and Alembic's comparison with it) never sees it.
bench_metadata = sa.MetaData()
bench_rows = sa.Table(
    "refundry_bench_rows",
    bench_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("note", sa.String(200)),
    sa.Column("created_at", UTC_TIME, nullable=False),
)

router = APIRouter(prefix="/v1/_bench", include_in_schema=False)


class BenchRowIn(fields.StrictModel):
    note: fields.Text[Annotated[str, Field(max_length=200)]] | None = None


def _insert(engine: Engine, row: dict[str, Any]) -> None:
    """One INSERT in a write transaction begun as the unit of work begins one: a pooled
    connection, on SQLite ``BEGIN IMMEDIATE`` after this process's write queue, a commit."""
    connection, transaction = begin(engine, write=True)
    with connection, transaction:
        connection.execute(sa.insert(bench_rows), row)


@router.post("/rows", status_code=201)
def insert_row(
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: BenchRowIn | None = None,
) -> Response:
    # The key is checked like any POST's but not stored: the baseline is one INSERT.
    del idempotency_key
    row_id, now = uuid.uuid4(), utcnow()
    row = {
        "id": row_id,
        "merchant_id": caller.merchant_id,
        "note": body.note if body else None,
        "created_at": now,
    }
    _insert(container.engine, row)
    response = json_response({"id": str(row_id), "created_at": now.isoformat()})
    response.status_code = 201
    return response


def install(app: FastAPI) -> None:
    """Add the baseline endpoint, and its table when missing."""
    container = app.state.container
    with container.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Every server process runs this at start-up; CREATE TABLE IF NOT EXISTS alone
            # can still collide on PostgreSQL's catalog when two run at once.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('refundry_bench'))"))
        bench_metadata.create_all(connection, checkfirst=True)
    app.include_router(router)
