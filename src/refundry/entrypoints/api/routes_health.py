"""Probes and metrics, for the platform that runs the API rather than for merchants: none
is in the OpenAPI document, and none needs an API key.

- ``/livez``: the process answers (it reads nothing; a restart is what fixes a failure).
- ``/healthz``: the same as ``/livez``, kept for what already calls it.
- ``/readyz``: the database answers and its schema is at this code's latest migration;
  otherwise 503 problem+json, ``database-unavailable`` or ``schema-not-current``.
- ``/metrics``: Prometheus text; with ``REFUNDRY_METRICS_TOKEN`` set it wants that bearer
  token, otherwise it is open, as metrics usually are, to whatever reaches the port.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response

from refundry.adapters.db.migrate import SchemaRevisions, schema_revisions
from refundry.domain.errors import Unauthenticated
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.api.errors import problem
from refundry.entrypoints.api.metrics import CONTENT_TYPE, metrics_text

router = APIRouter(include_in_schema=False)
logger = logging.getLogger("refundry.api")


@router.get("/livez")
@router.get("/healthz")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, container: ContainerDep) -> JSONResponse:
    try:
        revisions = schema_revisions(container.engine)
    except Exception as error:
        logger.warning("not ready: the database did not answer: %s", type(error).__name__)
        return problem(
            503,
            "database-unavailable",
            "The database does not answer",
            f"the database did not answer ({type(error).__name__}); see the server's log",
            request.url.path,
        )
    if not revisions.current:
        return problem(
            503,
            "schema-not-current",
            "The database schema is not at the latest migration",
            _schema_detail(revisions),
            request.url.path,
            {"schema_revision": list(revisions.applied), "latest": list(revisions.latest)},
        )
    return JSONResponse({"status": "ready", "schema_revision": list(revisions.applied)})


def _schema_detail(revisions: SchemaRevisions) -> str:
    latest = ", ".join(revisions.latest)
    if not revisions.applied:
        return f"the database has no schema: run `refundry migrate` (latest {latest})"
    return (
        f"the schema is at {', '.join(revisions.applied)}, this code's latest is {latest}: "
        "run `refundry migrate` (or, if a newer release migrated it, run that release)"
    )


@router.get("/metrics")
def metrics(
    request: Request,
    container: ContainerDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    token = container.settings.metrics_token
    if token is not None:
        sent = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise Unauthenticated("send the metrics token as `Authorization: Bearer <token>`")
    return Response(metrics_text(request.app.state.stored_state), media_type=CONTENT_TYPE)
