"""Redeem orders and reconciliation through the API: points spent at checkout come back
with refunds in proportion; a redeem order whose transaction record never arrives is
reversed automatically (auto_refunded) once, with one webhook, and everything else that
does not match lands in the discrepancy report."""

from __future__ import annotations

import base64
import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

from refundry.domain.status import OrderStatus
from refundry.services import transactions
from tests.conftest import Api, order_body

CUSTOMER = "cust-redeem"


def with_program(api: Api, **program: Any) -> None:
    answer = api.client.put("/v1/points-program", json={"points_per_unit": 1, **program})
    assert answer.status_code == 200, answer.text


def ingest(api: Api, customer: str = CUSTOMER, **overrides: Any) -> dict[str, Any]:
    body = order_body(customer={"email": "ana@example.com", "external_id": customer}, **overrides)
    made = api.client.post("/v1/orders", json=body)
    assert made.status_code == 201, made.text
    order: dict[str, Any] = made.json()
    return order


def balance(api: Api, customer: str = CUSTOMER) -> int:
    answer = api.client.get(f"/v1/customers/{customer}/points")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["balance"])


def customer_with_points(api: Api) -> str:
    """A customer who earned 130 points with one card order of EUR 130.46."""
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    with_program(api)
    ingest(api, customer)
    assert balance(api, customer) == 130
    return customer


def redeem(api: Api, customer: str, points: int, value: int | None, **payment: Any) -> Any:
    spent: dict[str, Any] = {"redeemed": points}
    if value is not None:
        spent["value"] = value
    body = order_body(
        customer={"email": "ana@example.com", "external_id": customer},
        payment={"points": spent, **payment},
    )
    return api.client.post("/v1/orders", json=body)


def test_a_redeem_order_gives_back_points_and_money_in_proportion(api: Api) -> None:
    customer = customer_with_points(api)
    # when 100 points pay EUR 10.00 of a EUR 130.46 order, the rest by card
    made = redeem(api, customer, 100, 1000)
    assert made.status_code == 201, made.text
    order = made.json()
    assert order["payment"]["points"] == {
        "redeemed": 100,
        "value": 1000,
        "restored": 0,
        "restorable": 100,
    }
    assert order["captured"] == 13046
    # the money part earned points (120 of 120.46), the points part none
    assert order["points_earned"] == 120
    assert balance(api, customer) == 130 - 100 + 120
    # when a quarter-ish of the order is refunded
    preview = api.client.post(
        f"/v1/orders/{order['id']}/refund/preview", json={"amount": 3262}
    ).json()
    refund = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"amount": 3262, "reason": "late"}
    ).json()
    # then the review showed what the refund did: 25 points and EUR 2.50 of points' value
    assert (preview["points_to_restore"], preview["points_value"]) == (25, 250)
    assert preview["money_amount"] == 3262 - 250
    assert (refund["points_restored"], refund["points_value"]) == (25, 250)
    assert refund["money_amount"] == 3012
    # and the rest, when refunded, gives back exactly what is left of each
    rest = api.client.post(f"/v1/orders/{order['id']}/refund", json={}).json()
    assert rest["points_restored"] == 75
    assert rest["points_value"] == 750
    assert refund["money_amount"] + rest["money_amount"] == 13046 - 1000
    api.settle()
    settled = api.client.get(f"/v1/orders/{order['id']}").json()
    assert settled["order_status"] == OrderStatus.FULLY_REFUNDED.value
    assert settled["payment"]["points"]["restorable"] == 0
    # the earned 120 went back too; the 100 spent came back
    assert balance(api, customer) == 130


def points_only(customer: str, points: int) -> dict[str, object]:
    return order_body(
        customer={"email": "ana@example.com", "external_id": customer},
        lines=[{"sku": "SOCK", "name": "Sock", "quantity": 1, "unit_price": 1000}],
        shipping=None,
        payment={"method": "points", "points": {"redeemed": points}},
    )


def test_a_points_only_order_is_refunded_at_once_without_a_provider(api: Api) -> None:
    customer = customer_with_points(api)
    made = api.client.post("/v1/orders", json=points_only(customer, 100))
    assert made.status_code == 201, made.text
    order = made.json()
    assert order["points_earned"] == 0
    refund = api.client.post(f"/v1/orders/{order['id']}/refund", json={}).json()
    assert refund["status"] == "completed"
    assert (refund["points_restored"], refund["money_amount"]) == (100, 0)
    assert balance(api, customer) == 130


def test_spending_more_points_than_the_balance_is_refused_and_writes_nothing(api: Api) -> None:
    customer = customer_with_points(api)
    refused = redeem(api, customer, 131, 1000)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/insufficient-points")
    assert refused.json()["balance"] == 130
    assert balance(api, customer) == 130
    mismatched = redeem(api, customer, 10, None)
    assert mismatched.status_code == 422
    assert "payment.points.value" in mismatched.json()["detail"]


def test_a_reversal_of_spent_points_follows_the_shortfall_policy(api: Api) -> None:
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    with_program(api, shortfall_policy="record_shortfall")
    earning = ingest(api, customer)
    # the customer spends 100 of the 130 points on an order paid wholly with points
    spent = api.client.post("/v1/orders", json=points_only(customer, 100))
    assert spent.status_code == 201, spent.text
    before = balance(api, customer)
    assert before == 30
    # when the earning order is fully refunded
    api.client.post(f"/v1/orders/{earning['id']}/refund", json={"method": "other"})
    # then only what is left is taken, and the rest is recorded as a shortfall
    ledger = api.client.get(f"/v1/customers/{customer}/points").json()
    reversal = next(entry for entry in ledger["entries"] if entry["kind"] == "reversed")
    assert -reversal["points"] == before
    assert reversal["shortfall"] == 130 - before
    assert ledger["balance"] == 0


def records_for(*rows: tuple[str, str, int]) -> dict[str, Any]:
    """Records of transactions made this year: they cover the orders placed since."""
    return {
        "records": [
            {
                "transaction_id": tx,
                "order": order,
                "amount": amount,
                "currency": "EUR",
                "occurred_at": "2026-01-01T00:00:00Z",
            }
            for tx, order, amount in rows
        ]
    }


def test_reconciliation_reverses_a_redeem_order_without_its_record_once(api: Api) -> None:
    customer = customer_with_points(api)
    recorded = redeem(api, customer, 10, 100, method="other").json()
    missing = redeem(api, customer, 20, 200, method="other").json()
    wrong = redeem(api, customer, 30, 300, method="other").json()
    tag = uuid.uuid4().hex[:8]
    imported = api.client.post(
        "/v1/reconciliation/records",
        json=records_for(
            (f"tx-{tag}-1", recorded["external_id"], 13046),
            (f"tx-{tag}-2", wrong["external_id"], 13000),
            (f"tx-{tag}-3", "no-such-order", 500),
        ),
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 3
    balance_before = balance(api, customer)
    # when reconciliation runs with no grace period
    first = api.client.post("/v1/reconciliation/runs", json={"grace_hours": 0})
    assert first.status_code == 200, first.text
    outcome = first.json()
    # then only the redeem order without a record is reversed
    assert outcome["orders_auto_refunded"] == [missing["id"]]
    assert outcome["discrepancies_found"] == 2  # the amount mismatch and the orphan record
    reversed_order = api.client.get(f"/v1/orders/{missing['id']}").json()
    assert reversed_order["order_status"] == "auto_refunded"
    assert reversed_order["refundable"] == 0
    assert reversed_order["payment"]["points"]["restored"] == 20
    # the points spent come back; those its money part earned are taken back
    assert balance(api, customer) == balance_before + 20 - missing["points_earned"]
    refunds = api.client.get(f"/v1/orders/{missing['id']}/refunds").json()["data"]
    assert [(r["kind"], r["created_by"]) for r in refunds] == [
        ("auto_refund", "system:reconciliation")
    ]
    assert "missing" in refunds[0]["reason"]
    # and running it again changes nothing
    second = api.client.post("/v1/reconciliation/runs", json={"grace_hours": 0}).json()
    assert second["orders_auto_refunded"] == []
    assert second["discrepancies_found"] == 0
    assert balance(api, customer) == balance_before + 20 - missing["points_earned"]
    # one auto_refunded event for the one reversal
    events = api.client.get("/v1/events", params={"order_id": missing["id"]}).json()["data"]
    assert [event["type"] for event in events] == ["auto_refunded"]
    assert events[0]["payload"]["data"]["points_restored"] == 20
    # an auto_refunded order refuses cancel and refund with a clear problem
    cancel = api.client.post(f"/v1/orders/{missing['id']}/cancel", json={})
    refund = api.client.post(f"/v1/orders/{missing['id']}/refund", json={})
    assert cancel.status_code == refund.status_code == 409
    assert cancel.json()["type"].endswith("/order-already-refunded")
    assert refund.json()["type"].endswith("/order-not-refundable")
    assert "auto_refunded" in cancel.json()["detail"]
    assert "auto_refunded" in refund.json()["detail"]


def test_the_discrepancy_report_lists_what_did_not_match_as_json_and_csv(api: Api) -> None:
    customer = customer_with_points(api)
    wrong = redeem(api, customer, 30, 300, method="other").json()
    tag = uuid.uuid4().hex[:8]
    api.client.post(
        "/v1/reconciliation/records",
        json=records_for(
            (f"tx-{tag}-a", wrong["external_id"], 13000),
            (f"=tx-{tag}-b", "no-such-order", 500),
        ),
    )
    api.client.post("/v1/reconciliation/runs", json={"grace_hours": 0})
    listed = api.client.get("/v1/reconciliation/discrepancies").json()["data"]
    kinds = {(found["kind"], found["transaction_id"]) for found in listed}
    assert ("amount_mismatch", f"tx-{tag}-a") in kinds
    assert ("record_without_order", f"=tx-{tag}-b") in kinds
    mismatch = next(found for found in listed if found["kind"] == "amount_mismatch")
    assert (mismatch["order_amount"], mismatch["record_amount"]) == (13046, 13000)
    assert "13000" in mismatch["explanation"]
    download = api.client.get("/v1/reconciliation/discrepancies.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert {row["transaction_id"] for row in rows} >= {f"tx-{tag}-a", f"'=tx-{tag}-b"}
    # when the record is corrected, the next run resolves the mismatch
    api.client.post(
        "/v1/reconciliation/records",
        json=records_for((f"tx-{tag}-a", wrong["external_id"], 13046)),
    )
    rerun = api.client.post("/v1/reconciliation/runs", json={"grace_hours": 0}).json()
    assert rerun["discrepancies_resolved"] == 1
    open_now = api.client.get("/v1/reconciliation/discrepancies").json()["data"]
    assert all(found["transaction_id"] != f"tx-{tag}-a" for found in open_now)


def test_a_record_that_arrives_in_time_prevents_the_reversal(api: Api) -> None:
    customer = customer_with_points(api)
    order = redeem(api, customer, 10, 100, method="other").json()
    # within the grace period nothing happens
    early = api.client.post("/v1/reconciliation/runs", json={"grace_hours": 1}).json()
    assert order["id"] not in early["orders_auto_refunded"]
    # the record, naming the order by its Refundry id, arrives in time
    api.client.post(
        "/v1/reconciliation/records",
        json=records_for((f"tx-{uuid.uuid4().hex[:8]}", order["id"], 13046)),
    )
    later = api.client.post("/v1/reconciliation/runs", json={"grace_hours": 0}).json()
    assert order["id"] not in later["orders_auto_refunded"]
    assert api.client.get(f"/v1/orders/{order['id']}").json()["order_status"] == "paid"


def test_bad_records_are_refused_whole(api: Api) -> None:
    refused = api.client.post(
        "/v1/reconciliation/records",
        json={
            "records": [
                {"transaction_id": "ok-1", "order": "x", "amount": 1, "currency": "EUR"},
                {"transaction_id": "bad", "order": "x", "amount": -1, "currency": "EUR"},
            ]
        },
    )
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/validation-error") or "amount" in refused.text
    listed = api.client.get("/v1/reconciliation/discrepancies").json()
    assert listed["data"] == []


def test_points_given_back_by_a_refund_that_failed_are_never_given_back_twice(api: Api) -> None:
    # given a customer who spent 100 points on a card order and got 50 back with a refund
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    with_program(api, shortfall_policy="record_shortfall", points_per_unit=2)
    ingest(api, customer)  # earns 260
    with_program(api, shortfall_policy="record_shortfall", points_per_unit=0)  # no more
    order = redeem(api, customer, 100, 1000).json()
    half = api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 6523}).json()
    assert half["points_restored"] == 50
    # and who then spent everything they had
    left = balance(api, customer)
    spent = api.client.post("/v1/orders", json=points_only(customer, left))
    assert spent.status_code == 201, spent.text
    assert balance(api, customer) == 0
    # when the provider refuses that refund (the points cannot all be taken again)
    transactions.run(
        api.container.uow_factory,
        lambda uow: uow.orders.get(api.merchant.merchant.id, uuid.UUID(order["id"])).fail_refund(
            uuid.UUID(half["id"]), "declined", datetime.now(UTC)
        ),
    )
    # and the whole order is refunded after all
    api.client.post(f"/v1/orders/{order['id']}/refund", json={})
    # then the ledger gave back the 100 points spent on it once, not 150
    entries = api.client.get(f"/v1/customers/{customer}/points").json()["entries"]
    restored = [e for e in entries if e["kind"] == "restored" and e["order_id"] == order["id"]]
    assert sum(entry["points"] for entry in restored) == 100


def test_a_merchant_that_sends_no_records_has_nothing_reversed(api: Api) -> None:
    customer = customer_with_points(api)
    order = redeem(api, customer, 10, 100, method="other").json()
    outcome = api.client.post("/v1/reconciliation/runs", json={"grace_hours": 0}).json()
    assert outcome["orders_auto_refunded"] == []
    assert api.client.get(f"/v1/orders/{order['id']}").json()["order_status"] == "paid"


def test_a_corrected_record_still_wrong_shows_its_new_figures(api: Api) -> None:
    customer = customer_with_points(api)
    order = redeem(api, customer, 10, 100, method="other").json()
    tx = f"tx-{uuid.uuid4().hex[:8]}"
    for amount in (1, 99999):
        api.client.post(
            "/v1/reconciliation/records", json=records_for((tx, order["external_id"], amount))
        )
        found = api.client.post("/v1/reconciliation/runs", json={"grace_hours": 0}).json()
        assert found["discrepancies_found"] == 1
    listed = api.client.get("/v1/reconciliation/discrepancies").json()["data"]
    [shown] = [found for found in listed if found["transaction_id"] == tx]
    assert shown["record_amount"] == 99999


def test_a_forged_cursor_is_a_clear_error(api: Api) -> None:
    forged = base64.urlsafe_b64encode(b'["2026-11-23T00:00:00+00:00", "nope", "x"]').decode()
    for cursor in ("not-base64!", forged):
        answer = api.client.get("/v1/reconciliation/discrepancies", params={"cursor": cursor})
        assert answer.status_code == 422, answer.text
        assert answer.json()["type"].endswith("/invalid-input")


def test_orders_placed_before_the_records_begin_are_not_reversed(api: Api) -> None:
    # given a redeem order, then the merchant's first records, which begin after it
    customer = customer_with_points(api)
    order = redeem(api, customer, 10, 100, method="other").json()
    api.client.post(
        "/v1/reconciliation/records",
        json={
            "records": [
                {
                    "transaction_id": f"tx-{uuid.uuid4().hex[:8]}",
                    "order": "other",
                    "amount": 100,
                    "currency": "EUR",
                }
            ]
        },
    )
    # when reconciliation runs
    outcome = api.client.post("/v1/reconciliation/runs", json={"grace_hours": 0}).json()
    # then the order, older than any record, is left alone
    assert order["id"] not in outcome["orders_auto_refunded"]
    assert api.client.get(f"/v1/orders/{order['id']}").json()["order_status"] == "paid"
