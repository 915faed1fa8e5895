"""Returns through the API: request, approve, receive, refund less fees; what they hold and
what they refuse (issue 19)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.e2e.test_orders_refunds_api import ingest, stock
from tests.e2e.test_reports_api import RANGE


def shipped(api: Api, **overrides: Any) -> dict[str, Any]:
    """The usual three-line order, paid and fully shipped."""
    order = ingest(api, **overrides)
    response = api.client.post(f"/v1/orders/{order['id']}/fulfil")
    assert response.status_code == 200, response.text
    fulfilled: dict[str, Any] = response.json()
    return fulfilled


def create_return(api: Api, order: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = api.client.post(f"/v1/orders/{order['id']}/returns", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def problem_type(response: Any) -> str:
    kind: str = response.json()["type"].rsplit("/", 1)[-1]
    return kind


def test_a_return_is_requested_approved_received_and_refunded_less_its_fees(api: Api) -> None:
    # given a shipped order: 3 teas (890 each, 100 discount and 514 tax on the line)
    order = shipped(api)
    tea = order["lines"][2]
    assert stock(api, "TEA") == -3
    # when the customer asks to return 2 of them, with a 10% restocking fee
    made = create_return(
        api,
        order,
        lines=[{"line_id": tea["id"], "quantity": 2, "reason": "too strong"}],
        requested=True,
        restocking_fee_percent=10,
    )
    assert (made["status"], made["units"], made["lines"][0]["reason"]) == (
        "requested", 2, "too strong",
    )  # fmt: skip
    # the units are held: they can be neither refunded by line nor returned again
    refund = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"lines": [{"line_id": tea["id"], "quantity": 2}]}
    )
    assert refund.status_code == 409, refund.text
    again = api.client.post(
        f"/v1/orders/{order['id']}/returns", json={"lines": [{"line_id": tea["id"], "quantity": 2}]}
    )
    assert (again.status_code, problem_type(again)) == (409, "return-quantity-exceeded")
    # approved, then 1 resellable and 1 damaged unit arrive, in two parcels
    approved = api.client.post(f"/v1/returns/{made['id']}/approve").json()
    assert approved["status"] == "open"
    first = api.client.post(
        f"/v1/returns/{made['id']}/receive",
        json={"lines": [{"line_id": tea["id"], "resellable": 1}]},
    ).json()
    assert (first["status"], first["units_received"]) == ("partially_received", 1)
    assert stock(api, "TEA") == -2  # the resellable unit is back on the shelf
    second = api.client.post(
        f"/v1/returns/{made['id']}/receive",
        json={"lines": [{"line_id": tea["id"], "damaged": 1}]},
    ).json()
    assert second["status"] == "received"
    assert stock(api, "TEA") == -2  # the damaged one is not
    # the refund: 2 of 3 teas are 1780 - 67 discount + 343 tax = 2056, less 10% (206)
    preview = api.client.post(
        f"/v1/returns/{made['id']}/refund/preview", json={"destination": "original"}
    ).json()
    assert (preview["amount"], preview["fees"]) == (2056 - 206, 206)
    assert [line["restocked_quantity"] for line in preview["lines"]] == [0]
    refunded = api.client.post(f"/v1/returns/{made['id']}/refund", json={"quote": preview["quote"]})
    assert refunded.status_code == 201, refunded.text
    result = refunded.json()
    assert (result["return"]["status"], result["return"]["fees_kept"]) == ("closed", 206)
    assert (result["refund"]["amount"], result["refund"]["status"]) == (1850, "started")
    assert result["order"]["order_status"] == "partially_refunded"
    assert stock(api, "TEA") == -2  # the refund restocks nothing more
    api.settle()
    assert api.client.get(f"/v1/refunds/{result['refund']['id']}").json()["status"] == "completed"
    # every step is in the return's history, with who did it
    shown = api.client.get(f"/v1/returns/{made['id']}").json()
    assert [change["status"] for change in shown["status_history"]] == [
        "requested", "open", "partially_received", "received", "closed",
    ]  # fmt: skip
    actors = {change["actor"] for change in shown["status_history"]}
    assert len(actors) == 1
    assert actors.pop().startswith("api_key:")


def test_the_return_lists_find_by_status_order_and_email_page_by_page(api: Api) -> None:
    first = shipped(api, customer={"email": "Dora@Example.com"})
    second = shipped(api)
    one = create_return(api, first, lines=[{"line_id": first["lines"][0]["id"], "quantity": 1}])
    two = create_return(
        api, second, lines=[{"line_id": second["lines"][1]["id"], "quantity": 1}], requested=True
    )
    listed = api.client.get("/v1/returns", params={"limit": 1}).json()
    assert [found["id"] for found in listed["data"]] == [two["id"]]
    after = api.client.get("/v1/returns", params={"limit": 1, "cursor": listed["next_cursor"]})
    assert [found["id"] for found in after.json()["data"]] == [one["id"]]
    by_status = api.client.get("/v1/returns", params={"status": "requested"}).json()["data"]
    assert [found["id"] for found in by_status] == [two["id"]]
    for query in ("dora@example.com", first["id"], first["external_id"], one["id"]):
        found = api.client.get("/v1/returns", params={"query": query}).json()["data"]
        assert [item["id"] for item in found] == [one["id"]], query
    on_order = api.client.get(f"/v1/orders/{second['id']}/returns").json()["data"]
    assert [item["id"] for item in on_order] == [two["id"]]


def test_bad_returns_are_refused_with_a_problem_and_write_nothing(api: Api) -> None:
    order = ingest(api)
    mug = order["lines"][0]
    unshipped = api.client.post(
        f"/v1/orders/{order['id']}/returns", json={"lines": [{"line_id": mug["id"], "quantity": 1}]}
    )
    assert (unshipped.status_code, problem_type(unshipped)) == (409, "return-quantity-exceeded")
    order = api.client.post(f"/v1/orders/{order['id']}/fulfil").json()
    too_many = api.client.post(
        f"/v1/orders/{order['id']}/returns", json={"lines": [{"line_id": mug["id"], "quantity": 3}]}
    )
    assert (too_many.status_code, problem_type(too_many)) == (409, "return-quantity-exceeded")
    fee_too_high = api.client.post(
        f"/v1/orders/{order['id']}/returns",
        json={"lines": [{"line_id": mug["id"], "quantity": 1}], "return_shipping_fee": 5000},
    )
    assert (fee_too_high.status_code, problem_type(fee_too_high)) == (422, "return-fee-too-high")
    bad_percent = api.client.post(
        f"/v1/orders/{order['id']}/returns",
        json={"lines": [{"line_id": mug["id"], "quantity": 1}], "restocking_fee_percent": 12.345},
    )
    assert bad_percent.status_code == 422
    assert api.client.get(f"/v1/orders/{order['id']}/returns").json()["data"] == []
    # an open return: more received than listed, a refund before anything arrived
    made = create_return(api, order, lines=[{"line_id": mug["id"], "quantity": 1}])
    over = api.client.post(
        f"/v1/returns/{made['id']}/receive",
        json={"lines": [{"line_id": mug["id"], "resellable": 2}]},
    )
    assert (over.status_code, problem_type(over)) == (409, "receipt-exceeds-return")
    early = api.client.post(f"/v1/returns/{made['id']}/refund")
    assert (early.status_code, problem_type(early)) == (409, "return-nothing-received")
    assert stock(api, "MUG") == -2
    # cancelled, it releases its unit; a closed return refuses everything
    cancelled = api.client.post(f"/v1/returns/{made['id']}/cancel", json={"reason": "kept it"})
    assert cancelled.json()["status"] == "cancelled"
    for action in ("approve", "cancel", "refund"):
        refused = api.client.post(f"/v1/returns/{made['id']}/{action}")
        assert refused.status_code == 409, (action, refused.text)
    create_return(api, order, lines=[{"line_id": mug["id"], "quantity": 2}])


def test_an_unknown_return_is_a_404_problem(api: Api) -> None:
    # (another merchant's returns: tests/e2e/test_tenant_isolation.py probes every path)
    missing = api.client.get("/v1/returns/00000000-0000-4000-8000-000000000000")
    assert (missing.status_code, problem_type(missing)) == (404, "return-not-found")


def test_a_declined_return_needs_a_reason_and_releases_its_units(api: Api) -> None:
    order = shipped(api)
    pot = order["lines"][1]
    made = create_return(api, order, lines=[{"line_id": pot["id"], "quantity": 1}], requested=True)
    blank = api.client.post(f"/v1/returns/{made['id']}/decline", json={"reason": "  "})
    assert blank.status_code == 422
    declined = api.client.post(
        f"/v1/returns/{made['id']}/decline", json={"reason": "outside the 30-day window"}
    ).json()
    assert (declined["status"], declined["status_history"][-1]["detail"]) == (
        "declined", "outside the 30-day window",
    )  # fmt: skip
    refund = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"lines": [{"line_id": pot["id"], "quantity": 1}]}
    )
    assert refund.status_code == 201, refund.text


def test_sales_returns_lists_the_refund_a_cancel_made_beside_the_returns(api: Api) -> None:
    # given a cancelled paid order (its cancellation refund) and a return on another order
    cancelled = ingest(api)
    assert api.client.post(f"/v1/orders/{cancelled['id']}/cancel").status_code == 200
    order = shipped(api)
    made = create_return(api, order, lines=[{"line_id": order["lines"][0]["id"], "quantity": 1}])
    # when Sales > Returns is read: both, newest first, each with its kind
    listed = api.client.get("/v1/returns").json()["data"]
    assert [(item["kind"], item["id"]) for item in listed[:2]] == [
        ("return", made["id"]),
        (
            "cancellation",
            api.client.get(f"/v1/orders/{cancelled['id']}/refunds").json()["data"][0]["id"],
        ),
    ]
    record = listed[1]
    assert (record["order_id"], record["amount"], record["units"]) == (
        cancelled["id"], cancelled["total"], 6,
    )  # fmt: skip
    # then one kind at a time, and a return status lists returns only
    only = api.client.get("/v1/returns", params={"kind": "cancellation"}).json()["data"]
    assert {item["kind"] for item in only} == {"cancellation"}
    returns_only = api.client.get("/v1/returns", params={"kind": "return"}).json()["data"]
    assert {item["kind"] for item in returns_only} == {"return"}
    by_status = api.client.get("/v1/returns", params={"status": "open"}).json()["data"]
    assert [item["id"] for item in by_status] == [made["id"]]
    found = api.client.get("/v1/returns", params={"query": cancelled["external_id"]}).json()
    assert [item["kind"] for item in found["data"]] == ["cancellation"]


def test_a_return_refunded_to_store_credit_is_credited_at_once_and_spent_at_checkout(
    api: Api,
) -> None:
    # given 2 of 3 teas received back, with a 10% restocking fee
    order = shipped(api)
    tea = order["lines"][2]
    made = create_return(
        api, order, lines=[{"line_id": tea["id"], "quantity": 2}], restocking_fee_percent=10
    )
    api.client.post(
        f"/v1/returns/{made['id']}/receive",
        json={"lines": [{"line_id": tea["id"], "resellable": 1, "damaged": 1}]},
    )
    # when it is refunded to store credit
    done = api.client.post(f"/v1/returns/{made['id']}/refund", json={"destination": "store_credit"})
    assert done.status_code == 201, done.text
    refund = done.json()["refund"]
    # then it is completed at once, nothing sent to the provider, and credited
    assert (refund["method"], refund["status"], refund["amount"]) == (
        "store_credit", "completed", 1850,
    )  # fmt: skip
    assert (refund["store_credit_value"], refund["money_amount"]) == (1850, 0)
    balance = api.client.get("/v1/customers/ana@example.com/store-credit").json()
    assert balance["balances"][0]["available"] == 1850
    # and a new order spends it
    spent = api.client.post(
        "/v1/orders",
        json={
            "currency": "EUR",
            "customer": {"email": "ana@example.com"},
            "lines": [{"sku": "CUP", "name": "Cup", "quantity": 1, "unit_price": 2500}],
            "payment": {"store_credit": {"amount": 1850}},
        },
    )
    assert spent.status_code == 201, spent.text
    assert spent.json()["payment"]["store_credit"]["amount"] == 1850
    after = api.client.get("/v1/customers/ana@example.com/store-credit").json()
    assert after["balances"][0]["available"] == 0


def test_reports_count_returns_units_returned_fees_kept_and_return_reasons(api: Api) -> None:
    # given a return of 2 teas (one too strong), both received, refunded less 10% by other means
    order = shipped(api)
    tea = order["lines"][2]
    made = create_return(
        api,
        order,
        lines=[{"line_id": tea["id"], "quantity": 2, "reason": "Too strong."}],
        restocking_fee_percent=10,
    )
    api.client.post(
        f"/v1/returns/{made['id']}/receive",
        json={"lines": [{"line_id": tea["id"], "resellable": 2}]},
    )
    api.client.post(f"/v1/returns/{made['id']}/refund", json={"destination": "other"})
    summary = api.client.get(f"/v1/reports/summary?{RANGE}").json()
    totals = summary["totals"][0]
    assert (totals["returns"], totals["units_returned"], totals["fees_kept"]) == (1, 2, 206)
    # net sales keep the fee: the refunded sales are the teas' share less it
    assert totals["refunded_sales"] == 1780 - 67 - 206
    items = api.client.get(f"/v1/reports/items?{RANGE}").json()["data"]
    assert {row["sku"]: row["units_returned"] for row in items}["TEA"] == 2
    reasons = api.client.get(f"/v1/reports/reasons?{RANGE}").json()["data"]
    returned = [row for row in reasons if row["kind"] == "return"]
    assert [(row["reason"], row["count"], row["amount"]) for row in returned] == [
        ("Too strong.", 2, 2056)
    ]


def received_return(api: Api, order: dict[str, Any], line: dict[str, Any], units: int) -> str:
    made = create_return(api, order, lines=[{"line_id": line["id"], "quantity": units}])
    received = api.client.post(
        f"/v1/returns/{made['id']}/receive",
        json={"lines": [{"line_id": line["id"], "resellable": units}]},
    )
    assert received.status_code == 200, received.text
    return str(made["id"])


def test_an_exchange_for_less_refunds_the_difference_and_pays_the_replacement(api: Api) -> None:
    # given the teapot (5490 + 1098 tax = 6588) back on the shelf
    order = shipped(api)
    return_id = received_return(api, order, order["lines"][1], 1)
    before = stock(api, "CUP")
    # when it is exchanged for two cups worth 5000
    cups = {"sku": "CUP", "name": "Cup", "quantity": 2, "unit_price": 2000, "tax": 1000}
    done = api.client.post(f"/v1/returns/{return_id}/exchange", json={"lines": [cups]})
    assert done.status_code == 201, done.text
    result = done.json()
    # then the replacement is paid by the return's value, and 1588 goes back to the card
    replacement = result["replacement_order"]
    assert (replacement["order_status"], replacement["total"]) == ("paid", 5000)
    assert replacement["payment"]["store_credit"]["amount"] == 5000
    assert replacement["customer"] == order["customer"]
    assert (result["carried"]["amount"], result["carried"]["method"]) == (5000, "store_credit")
    assert result["carried"]["lines"][0]["quantity"] == 1  # the teapot, with its tax
    assert (result["difference_refunded"]["amount"], result["difference_owed"]) == (1588, 0)
    assert result["difference_refunded"]["method"] == "original"
    assert result["return"]["status"] == "closed"
    assert result["return"]["exchange_order_id"] == replacement["id"]
    assert stock(api, "CUP") == before - 2
    # and the customer's store credit went in and out: nothing left, both moves kept
    credit = api.client.get("/v1/customers/ana@example.com/store-credit").json()
    assert credit["balances"][0]["available"] == 0
    assert sorted(entry["kind"] for entry in credit["entries"]) == ["issued", "spent"]


def test_an_exchange_for_more_waits_for_the_difference_then_is_paid_like_any_order(
    api: Api,
) -> None:
    # given one mug back (1393) exchanged for a kettle of 4800
    order = shipped(api)
    return_id = received_return(api, order, order["lines"][0], 1)
    kettle = {"sku": "KETTLE", "name": "Kettle", "quantity": 1, "unit_price": 4000, "tax": 800}
    done = api.client.post(f"/v1/returns/{return_id}/exchange", json={"lines": [kettle]})
    assert done.status_code == 201, done.text
    result = done.json()
    # then the replacement waits for the difference, the store credit part settled
    replacement = result["replacement_order"]
    assert (result["carried"]["amount"], result["difference_refunded"]) == (1393, None)
    assert result["difference_owed"] == 4800 - 1393
    assert (replacement["order_status"], replacement["captured"]) == ("pending", 1393)
    assert replacement["payment"]["store_credit"]["amount"] == 1393
    # when the checkout authorizes and captures the money part
    path = f"/v1/orders/{replacement['id']}"
    too_much = api.client.post(f"{path}/authorize", json={"amount": 4800})
    assert too_much.status_code == 422, too_much.text
    held = api.client.post(f"{path}/authorize", json={"amount": 3407})
    assert (held.json()["order_status"], held.json()["payment"]["authorized"]) == (
        "authorized", 4800,
    )  # fmt: skip
    paid = api.client.post(f"{path}/capture").json()
    # then it is paid in full: the store credit and the money
    assert (paid["order_status"], paid["captured"], paid["refundable"]) == ("paid", 4800, 4800)


def test_a_replacement_waiting_for_the_difference_cancelled_gives_the_store_credit_back(
    api: Api,
) -> None:
    order = shipped(api)
    return_id = received_return(api, order, order["lines"][0], 1)
    kettle = {"sku": "KETTLE", "name": "Kettle", "quantity": 1, "unit_price": 4000, "tax": 800}
    result = api.client.post(f"/v1/returns/{return_id}/exchange", json={"lines": [kettle]}).json()
    replacement = result["replacement_order"]
    cancelled = api.client.post(f"/v1/orders/{replacement['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["order_status"] == "cancelled"
    [refund] = api.client.get(f"/v1/orders/{replacement['id']}/refunds").json()["data"]
    assert (refund["kind"], refund["amount"], refund["status"]) == (
        "cancellation", 1393, "completed",
    )  # fmt: skip
    assert refund["store_credit_value"] == 1393
    credit = api.client.get("/v1/customers/ana@example.com/store-credit").json()
    assert credit["balances"][0]["available"] == 1393


def test_an_exchange_whose_difference_the_checkout_took_is_paid_at_once(api: Api) -> None:
    order = shipped(api)
    return_id = received_return(api, order, order["lines"][0], 1)
    kettle = {"sku": "KETTLE", "name": "Kettle", "quantity": 1, "unit_price": 4000, "tax": 800}
    done = api.client.post(
        f"/v1/returns/{return_id}/exchange",
        json={"lines": [kettle], "difference_paid": True, "payment_reference": "pi_difference"},
    )
    assert done.status_code == 201, done.text
    replacement = done.json()["replacement_order"]
    assert (replacement["order_status"], replacement["captured"]) == ("paid", 4800)
    assert replacement["payment"]["method"] == "card"


def test_an_exchange_needs_units_received_and_refuses_a_closed_return(api: Api) -> None:
    order = shipped(api)
    made = create_return(api, order, lines=[{"line_id": order["lines"][0]["id"], "quantity": 1}])
    cup = {"sku": "CUP", "name": "Cup", "quantity": 1, "unit_price": 500}
    early = api.client.post(f"/v1/returns/{made['id']}/exchange", json={"lines": [cup]})
    assert (early.status_code, problem_type(early)) == (409, "return-nothing-received")
    return_id = received_return(api, order, order["lines"][1], 1)
    assert api.client.post(f"/v1/returns/{return_id}/exchange", json={"lines": [cup]}).is_success
    again = api.client.post(f"/v1/returns/{return_id}/exchange", json={"lines": [cup]})
    assert again.status_code == 409, again.text
    orders = api.client.get("/v1/orders", params={"query": "ana@example.com"}).json()["data"]
    assert len(orders) == 2  # the original and one replacement: nothing else was written


def test_a_waiting_replacement_refuses_an_item_cancel_and_is_paid_whole(api: Api) -> None:
    # given a replacement of two lines (10.00 and 40.00) waiting, paid 13.93 by the return
    order = shipped(api)
    return_id = received_return(api, order, order["lines"][0], 1)
    cup = {"sku": "CUP", "name": "Cup", "quantity": 1, "unit_price": 1000}
    kettle = {"sku": "KETTLE", "name": "Kettle", "quantity": 1, "unit_price": 4000}
    result = api.client.post(
        f"/v1/returns/{return_id}/exchange", json={"lines": [cup, kettle]}
    ).json()
    path = f"/v1/orders/{result['replacement_order']['id']}"
    # an item cancel is refused while the rest is unpaid: what is owed would change
    kettle_id = result["replacement_order"]["lines"][1]["id"]
    refused = api.client.post(f"{path}/items/{kettle_id}/cancel")
    assert (refused.status_code, problem_type(refused)) == (409, "item-not-cancellable")
    assert refused.json()["condition"] == "waiting_for_payment"
    # then it is paid in full, and an item can be cancelled like on any paid order
    assert api.client.post(f"{path}/authorize").json()["order_status"] == "authorized"
    paid = api.client.post(f"{path}/capture").json()
    assert (paid["order_status"], paid["captured"]) == ("paid", 5000)
    done = api.client.post(f"{path}/items/{kettle_id}/cancel").json()
    assert (done["order_status"], done["refunded"]) == ("partially_refunded", 4000)


def test_a_difference_said_paid_needs_the_payment_reference(api: Api) -> None:
    order = shipped(api)
    return_id = received_return(api, order, order["lines"][0], 1)
    kettle = {"sku": "KETTLE", "name": "Kettle", "quantity": 1, "unit_price": 4000}
    refused = api.client.post(
        f"/v1/returns/{return_id}/exchange", json={"lines": [kettle], "difference_paid": True}
    )
    assert (refused.status_code, problem_type(refused)) == (422, "invalid-input")
    assert api.client.get(f"/v1/returns/{return_id}").json()["status"] == "received"
