"""The API fuzzed against its own OpenAPI schema with schemathesis (issue 10).

No generated request, valid or not, may get a 5xx, an undocumented status, a body that
does not match the schema, or an error that is not a typed problem. CI runs the short
budget: at least 5,000 requests on SQLite, about 1,000 on PostgreSQL, in all well under
three minutes; REFUNDRY_LONG_TESTS=1 runs ten times as many. Each run ends with the
worker's provider work and ``refundry verify``'s checks on what it left behind.
``fuzz_support`` says what is checked and how. A failure's report names
REFUNDRY_FUZZ_SEED, which replays it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from schemathesis.python import asgi

from refundry.entrypoints.api.errors import PROBLEM_BASE
from tests.conftest import Api, assert_no_drift, fresh_postgres_database, order_body, settle
from tests.e2e.fuzz_support import LONG, Budget, Fuzzer, Tally, fuzz_target

log = logging.getLogger(__name__)

SQLITE = (
    Budget(
        examples_per_operation=600,
        stateful_scenarios=600,
        stateful_steps=16,
        minimum_requests=50_000,
        minimum_stateful_requests=5_000,
    )
    if LONG
    else Budget(
        # Trimmed for CI's 25 minutes (was 52 and 70); REFUNDRY_LONG_TESTS=1 runs the long one.
        examples_per_operation=36,
        stateful_scenarios=50,
        stateful_steps=12,
        minimum_requests=3_400,
        minimum_stateful_requests=350,
    )
)
POSTGRES = (
    Budget(
        examples_per_operation=100,
        stateful_scenarios=150,
        stateful_steps=16,
        minimum_requests=10_000,
        minimum_stateful_requests=1_500,
    )
    if LONG
    else Budget(
        examples_per_operation=8,
        stateful_scenarios=25,
        stateful_steps=12,
        minimum_requests=900,
        minimum_stateful_requests=200,
    )
)

# The order flow the links chain: (operation, status, link, the operation it leads to).
ORDER = "/v1/orders/{order_id}"
FLOW = (
    ("POST /v1/orders", "201", "CaptureOrder", f"POST {ORDER}/capture"),
    (f"POST {ORDER}/capture", "200", "PreviewRefund", f"POST {ORDER}/refund/preview"),
    (f"POST {ORDER}/refund/preview", "200", "RefundAsPreviewed", f"POST {ORDER}/refund"),
    (f"POST {ORDER}/refund", "201", "CancelOrder", f"POST {ORDER}/cancel"),
)
CHAINED = [target for *_, target in FLOW]
# Called on an order a link led to, they answer with a success, or refuse for the order's
# state (409) or its payment provider's (402); with a random id, as the stateless run
# calls them, they answer 404.
ON_AN_ORDER = {200, 201, 402, 409}


def fuzz(database_url: str, sandbox_psp_url: str, budget: Budget) -> None:
    with fuzz_target(database_url, sandbox_psp_url) as target:
        started = time.monotonic()
        fuzzer = Fuzzer(target)
        fuzzer.stateless(budget.examples_per_operation)
        stateless, fuzzer.tally = fuzzer.tally, Tally()
        fuzzer.stateful(budget.stateful_scenarios, budget.stateful_steps)
        stateful = fuzzer.tally
        elapsed = time.monotonic() - started
        # What the fuzzing left behind must hold together: the provider work done (its
        # card refunds settled) and then `refundry verify`'s checks on every merchant.
        settle(target.container)
        assert_no_drift(target.container)
    summary = f"stateless {stateless.summary()}, stateful {stateful.summary()}"
    # In the report of a failure; live with -o log_cli=true --log-cli-level=INFO.
    log.info("fuzzed %s in %.0f s: %s", database_url.split(":")[0], elapsed, summary)
    assert not fuzzer.failures, "\n\n".join(fuzzer.failures)
    assert stateless.requests + stateful.requests >= budget.minimum_requests, summary
    assert stateful.requests >= budget.minimum_stateful_requests, summary
    reached = {
        label: stateful.count(
            lambda seen, status, label=label: seen == label and status in ON_AN_ORDER
        )
        for label in CHAINED
    }
    # Some scenarios go another way (fulfil, item cancel, events...): in a short run one
    # step of the flow may get no turn, the run as a whole does. The long run gets them all.
    assert sum(reached.values()) >= budget.stateful_scenarios // 10, reached
    if LONG:
        assert all(reached.values()), reached


@pytest.mark.slow
def test_fuzzing_on_sqlite(tmp_path: Path, sandbox_psp_url: str) -> None:
    fuzz(f"sqlite:///{tmp_path / 'fuzz.db'}", sandbox_psp_url, SQLITE)


@pytest.mark.slow
@pytest.mark.postgres
def test_fuzzing_on_postgres(sandbox_psp_url: str) -> None:
    with fresh_postgres_database() as url:
        fuzz(url, sandbox_psp_url, POSTGRES)


def test_the_links_chain_the_order_flow(tmp_path: Path, sandbox_psp_url: str) -> None:
    with fuzz_target(f"sqlite:///{tmp_path / 'links.db'}", sandbox_psp_url) as target:
        paths = target.schema.raw_schema["paths"]
    for source, status, name, target_label in FLOW:
        method, path = source.split(" ")
        link = paths[path][method.lower()]["responses"][status]["links"][name]
        target_method, target_path = target_label.split(" ")
        pointer = target_path.replace("~", "~0").replace("/", "~1")
        assert link["operationRef"] == f"#/paths/{pointer}/{target_method.lower()}"
        assert set(link["parameters"]) == {"order_id"}


def test_an_undocumented_method_is_a_405_problem_saying_what_is_allowed(
    tmp_path: Path, sandbox_psp_url: str
) -> None:
    with (
        fuzz_target(f"sqlite:///{tmp_path / 'methods.db'}", sandbox_psp_url) as target,
        asgi.get_client(target.schema.app) as client,
    ):
        for template, operations in target.schema.raw_schema["paths"].items():
            documented = {method.upper() for method in operations}
            method = next(m for m in ("DELETE", "PATCH", "PUT", "POST") if m not in documented)
            path = template.replace("{", "").replace("}", "")  # any value: the method decides
            response = client.request(method, path, headers=target.headers)
            assert response.status_code == 405, (method, template, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == "https://refundry.dev/problems/method-not-allowed"
            allowed = {m.strip() for m in response.headers["allow"].split(",")}
            assert documented <= allowed, (template, allowed)


# What the fuzzer found, pinned down.
def test_a_whole_number_written_with_a_fraction_is_that_integer(api: Api) -> None:
    # JSON Schema's `integer` (OpenAPI 3.1) is any number without a fraction: 2.0 is 2.
    line = {"sku": "MUG", "name": "Mug", "quantity": 2.0, "unit_price": 1290.0, "tax": 0.0}
    made = api.client.post("/v1/orders", json=order_body(lines=[line]))
    assert made.status_code == 201, made.text
    assert made.json()["lines"][0]["quantity"] == 2
    assert made.json()["lines"][0]["unit_price"] == 1290
    refused = api.client.post("/v1/orders", json=order_body(lines=[{**line, "quantity": 2.5}]))
    assert refused.status_code == 422
    assert refused.json()["type"] == PROBLEM_BASE + "validation-error"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/reconciliation/runs", {"grace_hours": True}, "body.grace_hours"),
        ("PATCH", "/v1/merchant", {"automatic_capture": 0}, "body.automatic_capture"),
    ],
)
def test_a_boolean_and_a_number_are_not_each_other(
    api: Api, method: str, path: str, body: dict[str, object], field: str
) -> None:
    refused = api.client.request(method, path, json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == field


def test_a_body_that_is_not_utf8_is_a_bad_request_problem(api: Api) -> None:
    refused = api.client.post(
        "/v1/orders", content=b'{"currency": "\xff"}', headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == PROBLEM_BASE + "bad-request"


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("/v1/reconciliation/records", {"records": [{
            "transaction_id": "t-1", "order": "o-1", "amount": 100, "currency": "EUR",
            "occurred_at": "0001-01-01T00:00:00+05:00"}]}, "invalid-input"),
        ("/v1/orders", order_body(lines=[{
            "sku": "GIFT", "name": "Gift", "quantity": 1, "unit_price": 2500,
            "kind": "gift_card_link", "link_expires_at": "9999-12-31T23:00:00-05:00"}],
            payment={"method": "card"}), "invalid-order"),
    ],
)  # fmt: skip
def test_a_time_outside_the_years_utc_can_hold_is_refused(
    api: Api, path: str, body: dict[str, object], problem: str
) -> None:
    # Year 0 or 10000 in UTC: PostgreSQL stored the link's expiry, and the order could
    # not be read back (500 on every GET); the record's was a 500 at once.
    refused = api.client.post(path, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == PROBLEM_BASE + problem


def test_a_report_range_at_the_end_of_time_is_refused(api: Api) -> None:
    # Its end, the day after 9999-12-31, was a 500.
    span = {"from": "9999-12-30", "to": "9999-12-31"}
    for report in ("summary", "items", "reasons", "refunds", "refunds.csv"):
        refused = api.client.get(f"/v1/reports/{report}", params=span)
        assert refused.status_code == 422, (report, refused.text)
        assert refused.json()["type"] == PROBLEM_BASE + "invalid-input"


def test_a_time_is_written_out_not_a_number_of_seconds(api: Api) -> None:
    record = {"transaction_id": "t-2", "order": "o-2", "amount": 100, "currency": "EUR"}
    refused = api.client.post(
        "/v1/reconciliation/records", json={"records": [{**record, "occurred_at": 60}]}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.records.0.occurred_at"
