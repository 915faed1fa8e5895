"""Report endpoints as a merchant uses them."""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import Container, payment_providers
from refundry.domain.payments import ProviderRefund, ProviderRefundState
from refundry.entrypoints.api.app import create_app
from refundry.services import clock, transactions
from refundry.services.handlers.provider_work import ProviderWork
from refundry.services.handlers.refund_outcomes import apply_refund_outcome
from refundry.services.unit_of_work import UnitOfWork
from tests.conftest import Api, order_body, sandbox_psp_server

TODAY = datetime.now(UTC).date()
RANGE = (
    f"from={(TODAY - timedelta(days=1)).isoformat()}&to={(TODAY + timedelta(days=1)).isoformat()}"
)


def ingest(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.client.post("/v1/orders", json=order_body(**overrides))
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def totals(api: Api) -> dict[str, Any]:
    response = api.client.get(f"/v1/reports/summary?{RANGE}")
    assert response.status_code == 200, response.text
    rows = response.json()["totals"]
    return rows[0] if rows else {}


def test_a_settled_refund_reduces_net_sales_and_a_pending_or_failed_one_does_not(
    api: Api, container: Container
) -> None:
    # given a sale
    order = ingest(api)
    before = totals(api)
    assert before["orders"] == 1
    assert before["net_sales"] == before["gross_sales"] - before["discounts"]
    # when one mug is refunded to the card
    mug = order["lines"][0]
    refund = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"lines": [{"line_id": mug["id"], "quantity": 1}]}
    ).json()
    # then while the provider has not settled it, no net figure moves
    assert refund["status"] == "started"
    assert totals(api)["net_sales"] == before["net_sales"]
    # and once the provider settles it
    api.settle()
    after = totals(api)
    # then net sales drop by the mug's price less its discount share, once
    assert after["refunded_sales"] == 1290 - 129
    assert after["net_sales"] == before["net_sales"] - (1290 - 129)
    assert after["refund_count"] == 1
    # and a second refund that the provider refuses never counts
    teapot = order["lines"][1]
    refused = api.client.post(
        f"/v1/orders/{order['id']}/refund",
        json={"lines": [{"line_id": teapot["id"], "quantity": 1}]},
    ).json()

    def refuse(uow: UnitOfWork) -> None:
        loaded = uow.orders.get(api.merchant.merchant.id, uuid.UUID(order["id"]))
        outcome = ProviderRefund("re_refused", ProviderRefundState.FAILED, "declined")
        apply_refund_outcome(uow, loaded, uuid.UUID(refused["id"]), outcome)

    transactions.run(container.uow_factory, refuse)
    assert api.client.get(f"/v1/refunds/{refused['id']}").json()["status"] == "failed"
    assert totals(api) == after


def test_a_refund_by_other_means_counts_as_the_help_page_promises(api: Api) -> None:
    order = ingest(api)
    before = totals(api)
    refund = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"amount": 500, "method": "other"}
    ).json()
    assert refund["status"] == "not_requested"
    assert totals(api)["net_sales"] == before["net_sales"] - 500


def test_a_float_credit_waiting_for_the_close_changes_no_net_figure(api: Api) -> None:
    api.client.put("/v1/float", json={"currency": "EUR"})
    api.client.post("/v1/float/top-ups", json={"amount": 100_000})
    order = ingest(
        api,
        lines=[
            {"sku": "G", "name": "G", "quantity": 2, "unit_price": 2500, "kind": "gift_card_link"}
        ],
        shipping=None,
        payment={"method": "float"},
    )
    before = totals(api)
    link = order["lines"][0]["links"][0]
    assert api.client.post(f"/v1/orders/{order['id']}/items/{link['id']}/cancel").is_success
    after = totals(api)
    assert after["net_sales"] == before["net_sales"]
    assert after["cancellation_count"] == 0


def test_a_cancellation_appears_once(api: Api) -> None:
    # given a paid order, cancelled before fulfilment
    order = ingest(api)
    assert api.client.post(f"/v1/orders/{order['id']}/cancel").is_success
    api.settle()  # the cancellation's refund reaches the card
    figures = totals(api)
    # then the sale shows once, the cancellation once, and they cancel out
    assert figures["orders"] == 1
    assert figures["cancellation_count"] == 1
    assert figures["refund_count"] == 0
    assert figures["cancellations"] == order["total"]
    assert figures["net_sales"] == 0
    reasons = api.client.get(f"/v1/reports/reasons?{RANGE}").json()["data"]
    assert reasons == [
        {"reason": "Order cancelled via API", "kind": "cancellation", "currency": "EUR",
         "count": 1, "amount": order["total"]}
    ]  # fmt: skip


def test_refunds_report_filters_sorts_and_pages(api: Api) -> None:
    order = ingest(api)
    lines = order["lines"]
    for line, reason in ((lines[0], "Arrived damaged"), (lines[2], "arrived  DAMAGED!")):
        api.client.post(
            f"/v1/orders/{order['id']}/refund",
            json={"lines": [{"line_id": line["id"], "quantity": 1}], "reason": reason},
        )
    api.client.post(
        f"/v1/orders/{order['id']}/refund",
        json={"amount": 100, "method": "other", "reason": "Late delivery"},
    )
    everything = api.client.get(f"/v1/reports/refunds?{RANGE}").json()
    assert everything["total"] == 3
    assert everything["timezone"] == "UTC"
    damaged = api.client.get(f"/v1/reports/refunds?{RANGE}&reason=damaged").json()
    assert damaged["total"] == 2
    other = api.client.get(f"/v1/reports/refunds?{RANGE}&method=other").json()
    assert [row["amount"] for row in other["data"]] == [100]
    by_amount = api.client.get(f"/v1/reports/refunds?{RANGE}&sort=-amount").json()["data"]
    assert [row["amount"] for row in by_amount] == sorted(
        (row["amount"] for row in by_amount), reverse=True
    )
    page = api.client.get(f"/v1/reports/refunds?{RANGE}&sort=amount&limit=2&offset=2").json()
    assert [row["amount"] for row in page["data"]] == [by_amount[0]["amount"]]
    assert by_amount[0]["items"] == "MUG x1"
    assert by_amount[0]["customer_email"] == "ana@example.com"
    reasons = api.client.get(f"/v1/reports/reasons?{RANGE}").json()["data"]
    assert (reasons[0]["count"], reasons[0]["kind"]) == (2, "refund")


def test_the_csv_opens_as_a_spreadsheet_expects(api: Api) -> None:
    order = ingest(api, external_id="=HYPERLINK(1)")
    api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 1234, "reason": "@odd"})
    response = api.client.get(f"/v1/reports/refunds.csv?{RANGE}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))))
    header, [row] = rows[0], rows[1:]
    record = dict(zip(header, row, strict=True))
    assert record["amount"] == "12.34"
    assert record["currency"] == "EUR"
    assert record["external_id"] == "'=HYPERLINK(1)"  # never a formula
    assert record["reason"] == "'@odd"
    datetime.fromisoformat(record["created_at"])


def test_bad_ranges_and_parameters_are_clear_problems(api: Api) -> None:
    backwards = api.client.get("/v1/reports/summary?from=2026-05-02&to=2026-05-01")
    assert backwards.status_code == 422
    assert backwards.headers["content-type"] == "application/problem+json"
    too_long = api.client.get("/v1/reports/summary?from=2020-01-01&to=2026-01-01")
    assert too_long.status_code == 422
    not_a_date = api.client.get("/v1/reports/refunds?from=yesterday&to=2026-05-01")
    assert not_a_date.json()["type"].endswith("/validation-error")
    bad_sort = api.client.get(f"/v1/reports/refunds?{RANGE}&sort=reason")
    assert bad_sort.status_code == 422
    bad_csv = api.client.get("/v1/reports/refunds.csv?from=2026-05-02&to=2026-05-01")
    assert bad_csv.status_code == 422
    zone = api.client.patch("/v1/merchant", json={"timezone": "Mars/Olympus"})
    assert zone.status_code == 422


def test_days_are_cut_in_the_merchants_time_zone(api: Api) -> None:
    # given a merchant in Tokyo (UTC+9)
    assert api.client.patch("/v1/merchant", json={"timezone": "Asia/Tokyo"}).is_success
    ingest(api)
    tokyo_today = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")).date()
    rows = api.client.get(
        f"/v1/reports/summary?from={tokyo_today.isoformat()}&to={tokyo_today.isoformat()}"
    ).json()
    assert rows["timezone"] == "Asia/Tokyo"
    assert [row["period"] for row in rows["data"]] == [tokyo_today.isoformat()]


def test_the_dashboard_gives_kpis_and_a_series(api: Api) -> None:
    order = ingest(api)
    api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 1000})
    api.settle()
    board = api.client.get("/v1/reports/dashboard").json()
    [today] = board["kpis"]["today"]
    assert today["orders"] == 1
    assert today["net_sales"] == today["gross_sales"] - (258 + 100) - 1000
    assert board["kpis"]["30d"] == board["kpis"]["today"]
    [point] = board["series"]
    assert point["day"] == board["today"]
    assert point["refunds"] == 1000
    assert point["net"] == point["sales"] - point["refunds"]


def test_reports_show_only_the_callers_data(api: Api, container: Container) -> None:
    from fastapi.testclient import TestClient

    from refundry.entrypoints.api.app import create_app
    from refundry.services.handlers.merchants import create_merchant

    order = ingest(api)
    api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 100})
    other = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Other"))
    with TestClient(create_app(container)) as client:
        client.headers["Authorization"] = f"Bearer {other.api_key}"
        assert client.get(f"/v1/reports/refunds?{RANGE}").json()["total"] == 0
        assert client.get(f"/v1/reports/summary?{RANGE}").json()["data"] == []
        lines = client.get(f"/v1/reports/refunds.csv?{RANGE}").text.strip().splitlines()
        assert len(lines) == 1  # the header alone
    assert date.fromisoformat(api.client.get("/v1/reports/dashboard").json()["today"])


@pytest.fixture
def own_api(container: Container, api: Api) -> Iterator[tuple[Api, str]]:
    """The caller's API wired to a sandbox gateway of this test's own, whose faults touch
    no other test, and that gateway's address."""
    with sandbox_psp_server() as base:
        settings = replace(container.settings, sandbox_psp_url=base)
        work = ProviderWork(container.uow_factory, payment_providers(settings))
        wired = replace(container, settings=settings, provider_work=work)
        with TestClient(create_app(wired), raise_server_exceptions=False) as client:
            client.headers.update(api.client.headers)
            yield Api(client, api.merchant, wired), base


def made_refund(api: Api, order: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    response = api.client.post(f"/v1/orders/{order['id']}/refund", json=body)
    assert response.status_code == 201, response.text
    refund: dict[str, Any] = response.json()
    return refund


def refund_ids(api: Api, query: str) -> set[str]:
    response = api.client.get(f"/v1/reports/refunds?{RANGE}&{query}")
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["data"])
    return {row["id"] for row in page["data"]}


def test_refunds_report_filters_by_status_and_only_settled_ones_count(
    own_api: tuple[Api, str],
) -> None:
    api, psp = own_api
    api.settle()  # other tests' refunds go out first, so the fault below is this test's
    # given one sale and, on it, a refund the card issuer declines, one it pays,
    # one not yet sent, and one made by other means
    order = ingest(api)
    before = totals(api)
    httpx.post(f"{psp}/_sandbox/faults", json={"reject_refunds": 1})
    failed = made_refund(api, order, {"amount": 900, "reason": "Arrived damaged"})
    api.settle()
    completed = made_refund(api, order, {"amount": 700, "reason": "Late delivery"})
    api.settle()
    started = made_refund(api, order, {"amount": 300})
    other = made_refund(api, order, {"amount": 100, "method": "other"})
    statuses = {
        row["id"]: row["status"]
        for row in api.client.get(f"/v1/reports/refunds?{RANGE}").json()["data"]
    }
    assert statuses == {
        failed["id"]: "failed",
        completed["id"]: "completed",
        started["id"]: "started",
        other["id"]: "not_requested",
    }
    # when the report is filtered by status, then it lists those alone
    assert refund_ids(api, "status=failed") == {failed["id"]}
    assert refund_ids(api, "status=completed") == {completed["id"]}
    assert refund_ids(api, "status=started") == {started["id"]}
    assert refund_ids(api, "status=not_requested") == {other["id"]}
    assert refund_ids(api, "status=processing") == set()
    assert refund_ids(api, "status=completed&status=failed") == {completed["id"], failed["id"]}
    assert refund_ids(api, "status=failed&method=other") == set()
    assert api.client.get(f"/v1/reports/refunds?{RANGE}&status=declined").status_code == 422
    # and the CSV takes the same filter
    csv_text = api.client.get(f"/v1/reports/refunds.csv?{RANGE}&status=failed").text
    [row] = list(csv.DictReader(io.StringIO(csv_text.removeprefix("\ufeff"))))
    assert (row["refund_id"], row["status"], row["amount"]) == (failed["id"], "failed", "9.00")
    # and only the paid refund and the one by other means take sales back
    after = totals(api)
    assert after["refunded_sales"] == 700 + 100
    assert after["net_sales"] == before["net_sales"] - 700 - 100
    assert after["refund_count"] == 2
    # and the reasons report leaves the declined refund out
    reasons = api.client.get(f"/v1/reports/reasons?{RANGE}").json()["data"]
    assert "Arrived damaged" not in {reason["reason"] for reason in reasons}


def second_api_key(api: Api) -> str:
    """Another key of the same merchant: another member of staff acting through the API."""
    # No endpoint issues a second key yet; write one the way create_merchant does.
    from refundry.services.handlers.merchants import KEY_PREFIX, _hash

    key_id, secret = uuid.uuid4(), secrets.token_urlsafe(16)
    transactions.run(
        api.container.uow_factory,
        lambda uow: uow.merchants.add_api_key(
            api.merchant.merchant.id, key_id, _hash(secret), clock.utcnow()
        ),
    )
    return f"{KEY_PREFIX}_{key_id.hex}_{secret}"


def test_refunds_report_filters_by_who_acted(api: Api) -> None:
    # given refunds made with two API keys of one merchant (two members of staff)
    order = ingest(api)
    first = made_refund(api, order, {"amount": 100, "method": "other"})
    other_key = {"Authorization": f"Bearer {second_api_key(api)}"}
    response = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"amount": 200}, headers=other_key
    )
    assert response.status_code == 201, response.text
    second = response.json()
    cancel = api.client.post(f"/v1/orders/{ingest(api)['id']}/cancel", headers=other_key)
    assert cancel.is_success, cancel.text
    rows = api.client.get(f"/v1/reports/refunds?{RANGE}").json()["data"]
    who = {row["id"]: row["created_by"] for row in rows}
    assert len(who) == 3
    first_staff, second_staff = who[first["id"]], who[second["id"]]
    assert first_staff.startswith("api_key:")
    assert second_staff.startswith("api_key:")
    assert first_staff != second_staff
    # when the report is filtered by who acted, then it lists that one's refunds alone
    assert refund_ids(api, f"staff={first_staff}") == {first["id"]}
    by_second = refund_ids(api, f"staff={second_staff}")
    assert second["id"] in by_second
    assert len(by_second) == 2  # the refund and the cancellation's refund
    assert refund_ids(api, f"staff={second_staff}&status=not_requested") == set()
    assert refund_ids(api, "staff=api_key:0000") == set()
    # and the CSV takes the same filter
    csv_text = api.client.get(f"/v1/reports/refunds.csv?{RANGE}&staff={first_staff}").text
    [row] = list(csv.DictReader(io.StringIO(csv_text.removeprefix("\ufeff"))))
    assert (row["refund_id"], row["created_by"]) == (first["id"], first_staff)
