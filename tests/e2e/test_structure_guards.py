"""What a restructuring must not change: the OpenAPI document, byte for byte, and the SQL
a keyed partial refund costs. Both were taken on main before issue 18's restructuring."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.conftest import Api, order_body

# sha256 of the bytes GET /openapi.json serves (400 kB, so not kept as a file). To see
# what changed: save the document from the commit before and diff the two.
OPENAPI_SHA256 = "0f80c55822c8010890d4126d73b0782374eb2fe06bf34864c016318007a6145e"

# Statements a keyed partial refund of one line issues (claim, lock-and-load, writes,
# webhook fan-out, stock, commit), counted by the driver's cursor executions.
REFUND_STATEMENT_BUDGET = {"sqlite": 13, "postgresql": 12}


def test_the_openapi_document_is_byte_for_byte_what_it_was(api: Api) -> None:
    document = api.client.get("/openapi.json")
    assert document.status_code == 200
    assert hashlib.sha256(document.content).hexdigest() == OPENAPI_SHA256, (
        "the OpenAPI document changed; if that was meant, update OPENAPI_SHA256"
    )


@contextmanager
def _counted_statements(api: Api) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]).split(None, 1)[0].upper())

    engine = api.container.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_keyed_partial_refund_issues_no_more_statements_than_before(api: Api) -> None:
    order = api.client.post("/v1/orders", json=order_body()).json()
    mug = order["lines"][0]["id"]
    body = {"lines": [{"line_id": mug, "quantity": 1}], "reason": "chipped"}
    headers = {"Idempotency-Key": f"budget-{uuid.uuid4().hex}"}
    with _counted_statements(api) as statements:
        refund = api.client.post(f"/v1/orders/{order['id']}/refund", json=body, headers=headers)
    assert refund.status_code == 201, refund.text
    dialect = api.container.engine.dialect.name
    assert len(statements) <= REFUND_STATEMENT_BUDGET[dialect], statements
