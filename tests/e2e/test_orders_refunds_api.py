"""Orders, cancels, refunds and quotes through the API, as seeds 001, 003 and 004 describe."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, order_body

# order_body(): MUG 2 x 1290 (discount 258, tax 464), POT 1 x 5490 (tax 1098),
# TEA 3 x 890 (discount 100, tax 514), shipping 490 + 98 tax.
TOTAL = (2580 - 258 + 464) + (5490 + 1098) + (2670 - 100 + 514) + 490 + 98


def ingest(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.client.post("/v1/orders", json=order_body(**overrides))
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def stock(api: Api, sku: str) -> int:
    level: int = api.client.get(f"/v1/stock/{sku}").json()["on_hand"]
    return level


def test_an_ingested_order_has_its_totals_and_status_from_its_payment(api: Api) -> None:
    paid = ingest(api)
    assert (paid["total"], paid["captured"], paid["refundable"]) == (TOTAL, TOTAL, TOTAL)
    assert (paid["order_status"], paid["fulfilment_status"]) == ("paid", "unfulfilled")
    assert [line["total"] for line in paid["lines"]] == [2786, 6588, 3084]
    held = ingest(api, payment={"capture": "manual"})
    assert (held["order_status"], held["captured"], held["payment"]["authorized"]) == (
        "authorized", 0, TOTAL,
    )  # fmt: skip
    pending = ingest(api, payment={"authorized": 0})
    assert pending["order_status"] == "pending"


def test_authorize_capture_and_fulfil_move_the_order_forward(api: Api) -> None:
    order = ingest(api, payment={"authorized": 0})
    order = api.client.post(f"/v1/orders/{order['id']}/authorize").json()
    assert order["order_status"] == "authorized"
    order = api.client.post(f"/v1/orders/{order['id']}/capture", json={"amount": 5000}).json()
    assert (order["order_status"], order["captured"]) == ("paid", 5000)
    again = api.client.post(f"/v1/orders/{order['id']}/capture")
    assert again.json()["type"].endswith("/order-not-capturable")
    mug = order["lines"][0]
    order = api.client.post(
        f"/v1/orders/{order['id']}/fulfil", json={"lines": [{"line_id": mug["id"], "quantity": 1}]}
    ).json()
    assert order["fulfilment_status"] == "partially_fulfilled"
    too_many = api.client.post(
        f"/v1/orders/{order['id']}/fulfil", json={"lines": [{"line_id": mug["id"], "quantity": 2}]}
    )
    assert too_many.status_code == 409
    assert too_many.json()["type"].endswith("/fulfilment-exceeds-open")
    order = api.client.post(f"/v1/orders/{order['id']}/fulfil").json()
    assert order["fulfilment_status"] == "fulfilled"


def test_search_finds_orders_by_id_external_id_and_email(api: Api) -> None:
    order = ingest(api, external_id="SHOP-77", customer={"email": "Ben@Example.com"})
    for query in (order["id"], "SHOP-77", "ben@example.com"):
        found = api.client.get("/v1/orders", params={"query": query}).json()["data"]
        assert [item["id"] for item in found] == [order["id"]]
    duplicate = api.client.post("/v1/orders", json=order_body(external_id="SHOP-77"))
    assert duplicate.status_code == 409
    assert duplicate.json()["type"].endswith("/duplicate-external-id")


def test_cancelling_a_paid_order_refunds_the_capture_and_restocks(api: Api) -> None:
    # given a paid, unfulfilled order
    order = ingest(api)
    assert (stock(api, "MUG"), stock(api, "POT"), stock(api, "TEA")) == (-2, -1, -3)
    # when it is cancelled with one of the merchant's status labels and no reason
    assert api.client.patch("/v1/merchant", json={"cancel_labels": ["fraud"]}).is_success
    response = api.client.post(f"/v1/orders/{order['id']}/cancel", json={"status": "fraud"})
    # then it is cancelled for good, with the default reason and a refund of the capture
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert (cancelled["order_status"], cancelled["status_label"]) == ("cancelled", "fraud")
    assert cancelled["cancel_reason"] == "Order cancelled via API"
    assert (cancelled["refunded"], cancelled["refundable"]) == (TOTAL, 0)
    [refund] = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert (refund["kind"], refund["amount"], refund["reason"]) == (
        "cancellation", TOTAL, "Order cancelled via API",
    )  # fmt: skip
    # and the stock is back to what it was before the order
    assert (stock(api, "MUG"), stock(api, "POT"), stock(api, "TEA")) == (0, 0, 0)
    again = api.client.post(f"/v1/orders/{order['id']}/cancel")
    assert again.json()["type"].endswith("/order-already-cancelled")
    refund_after = api.client.post(f"/v1/orders/{order['id']}/refund")
    assert refund_after.json()["type"].endswith("/order-not-refundable")


def test_cancelling_an_authorized_order_marks_the_hold_for_voiding(api: Api) -> None:
    order = ingest(api, payment={"capture": "manual"})
    cancelled = api.client.post(
        f"/v1/orders/{order['id']}/cancel", json={"reason": "Customer request"}
    ).json()
    assert cancelled["payment"]["authorization_state"] == "void_pending"
    assert cancelled["cancel_reason"] == "Customer request"
    assert cancelled["status_label"] == "cancelled"
    assert api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"] == []
    assert [line["cancelled_quantity"] for line in cancelled["lines"]] == [2, 1, 3]


def test_a_fulfilled_order_cannot_be_cancelled_and_a_refunded_one_neither(api: Api) -> None:
    order = ingest(api)
    mug = order["lines"][0]
    api.client.post(
        f"/v1/orders/{order['id']}/fulfil", json={"lines": [{"line_id": mug["id"], "quantity": 1}]}
    )
    response = api.client.post(f"/v1/orders/{order['id']}/cancel")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/order-fulfilled")
    assert "restock" in response.json()["detail"]
    other = ingest(api)
    api.client.post(f"/v1/orders/{other['id']}/refund")
    refunded = api.client.post(f"/v1/orders/{other['id']}/cancel")
    assert refunded.json()["type"].endswith("/order-already-refunded")


def test_partial_refunds_carry_their_share_and_the_cap_is_cumulative(api: Api) -> None:
    order = ingest(api)
    tea = order["lines"][2]
    url = f"/v1/orders/{order['id']}/refund"
    # one tea of three: 890 - 33 (of 100 discount) + 171 (of 514 tax)
    one = api.client.post(url, json={"lines": [{"line_id": tea["id"], "quantity": 1}]}).json()
    assert (one["amount"], one["lines"][0]["discount"], one["lines"][0]["tax"]) == (
        890 - 33 + 171, 33, 171,
    )  # fmt: skip
    # the other two teas take exactly what is left of the line
    two = api.client.post(url, json={"lines": [{"line_id": tea["id"], "quantity": 2}]}).json()
    assert one["amount"] + two["amount"] == tea["total"]
    # shipping in part: its tax follows in proportion
    ship = api.client.post(url, json={"shipping": 245, "reason": "late"}).json()
    assert (ship["shipping"], ship["shipping_tax"], ship["amount"]) == (245, 49, 294)
    goodwill = api.client.post(url, json={"amount": 500}).json()
    assert goodwill["goodwill"] == 500
    left = TOTAL - tea["total"] - 294 - 500
    over = api.client.post(url, json={"amount": left + 1})
    assert over.status_code == 409
    assert over.json()["type"].endswith("/refund-exceeds-refundable")
    assert over.json()["refundable"] == left
    rest = api.client.post(url).json()
    assert rest["amount"] == left
    assert rest["order"]["order_status"] == "fully_refunded"
    assert rest["adjustment"] == -500  # the goodwill left less money than goods


def test_a_refund_by_other_means_is_recorded_not_requested(api: Api) -> None:
    order = ingest(api)
    refund = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"amount": 1000, "method": "other"}
    ).json()
    assert (refund["method"], refund["status"], refund["completed_at"]) == (
        "other", "not_requested", None,
    )  # fmt: skip
    fetched = api.client.get(f"/v1/refunds/{refund['id']}").json()
    assert fetched["status_history"][0]["status"] == "not_requested"
    assert api.client.get(f"/v1/orders/{order['id']}").json()["refundable"] == TOTAL - 1000


def test_restocking_a_return_puts_shipped_units_back(api: Api) -> None:
    order = ingest(api)
    api.client.post(f"/v1/orders/{order['id']}/fulfil")
    pot = order["lines"][1]
    url = f"/v1/orders/{order['id']}/refund"
    api.client.post(url, json={"lines": [{"line_id": pot["id"], "quantity": 1, "restock": True}]})
    assert stock(api, "POT") == 0
    mug = order["lines"][0]
    api.client.post(url, json={"lines": [{"line_id": mug["id"], "quantity": 1}]})
    assert stock(api, "MUG") == -2  # refunded without restock: the mug stays with the customer


def test_preview_writes_nothing_and_its_quote_commits_exactly_that(api: Api) -> None:
    order = ingest(api)
    body = {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "shipping": 490}
    url = f"/v1/orders/{order['id']}/refund"
    preview = api.client.post(f"{url}/preview", json=body).json()
    unchanged = api.client.get(f"/v1/orders/{order['id']}").json()
    assert (unchanged["version"], unchanged["refunded"]) == (order["version"], 0)
    assert preview["refundable_after"] == TOTAL - preview["amount"]
    made = api.client.post(url, json={**body, "quote": preview["quote"]})
    assert made.status_code == 201, made.text
    assert made.json()["amount"] == preview["amount"]
    assert made.json()["lines"] == preview["lines"]


def test_a_quote_fails_when_the_order_changed_or_the_request_differs(api: Api) -> None:
    order = ingest(api)
    body = {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}]}
    url = f"/v1/orders/{order['id']}/refund"
    quote = api.client.post(f"{url}/preview", json=body).json()["quote"]
    different = api.client.post(url, json={"amount": 100, "quote": quote})
    assert different.status_code == 422
    assert different.json()["type"].endswith("/quote-mismatch")
    forged = api.client.post(url, json={**body, "quote": quote[:-2] + "xx"})
    assert forged.status_code == 422
    assert forged.json()["type"].endswith("/quote-invalid")
    api.client.post(f"/v1/orders/{order['id']}/fulfil")
    stale = api.client.post(url, json={**body, "quote": quote})
    assert stale.status_code == 409
    assert stale.json()["type"].endswith("/quote-stale")
    assert api.client.get(f"/v1/orders/{order['id']}").json()["refunded"] == 0


def test_an_empty_list_of_lines_is_not_a_full_refund(api: Api) -> None:
    order = ingest(api)
    response = api.client.post(f"/v1/orders/{order['id']}/refund", json={"lines": []})
    assert response.status_code == 422
    assert response.json()["type"].endswith("/refund-empty")
    assert api.client.get(f"/v1/orders/{order['id']}").json()["refunded"] == 0


def test_an_order_not_captured_cannot_be_refunded(api: Api) -> None:
    order = ingest(api, payment={"capture": "manual"})
    response = api.client.post(f"/v1/orders/{order['id']}/refund")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/order-not-refundable")
    assert "cancel" in response.json()["detail"]


def test_money_is_in_the_currencys_own_minor_units(api: Api) -> None:
    yen = ingest(
        api,
        currency="JPY",
        lines=[{"sku": "CUP", "name": "Cup", "quantity": 3, "unit_price": 1000, "tax": 100}],
        shipping=None,
    )
    refund = api.client.post(
        f"/v1/orders/{yen['id']}/refund",
        json={"lines": [{"line_id": yen["lines"][0]["id"], "quantity": 1}]},
    ).json()
    assert (refund["currency"], refund["tax"], refund["amount"]) == ("JPY", 33, 1033)


def test_a_capture_of_a_wrong_amount_is_bad_input_not_a_conflict(api: Api) -> None:
    # given an authorized order
    order = api.client.post(
        "/v1/orders", json=order_body(payment={"method": "card", "capture": "manual"})
    ).json()
    assert order["order_status"] == "authorized"
    # when a capture names zero or more than was authorized
    for amount in (0, order["total"] + 1):
        response = api.client.post(f"/v1/orders/{order['id']}/capture", json={"amount": amount})
        # then it is a 422 naming the amount, and the order is unchanged
        assert response.status_code == 422, response.text
        assert response.json()["type"].endswith("/invalid-amount")
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert (after["order_status"], after["captured"]) == ("authorized", 0)


def set_cancel_labels(api: Api, labels: list[str]) -> dict[str, Any]:
    response = api.client.patch("/v1/merchant", json={"cancel_labels": labels})
    assert response.status_code == 200, response.text
    merchant: dict[str, Any] = response.json()
    return merchant


def test_a_cancel_takes_one_of_the_merchants_labels_in_its_spelling(api: Api) -> None:
    # given a merchant with its own statuses after cancellation
    set_cancel_labels(api, ["Refused", "Out of stock"])
    order = ingest(api)
    # when an order is cancelled with one of them, in other case and with spaces around
    response = api.client.post(
        f"/v1/orders/{order['id']}/cancel", json={"status": " out OF stock "}
    )
    # then the merchant's spelling is kept
    assert response.status_code == 200, response.text
    assert (response.json()["order_status"], response.json()["status_label"]) == (
        "cancelled", "Out of stock",
    )  # fmt: skip
    stored = api.client.get(f"/v1/orders/{order['id']}").json()
    assert stored["status_label"] == "Out of stock"
    # and "cancelled" itself is always on the list
    other = ingest(api)
    cancelled = api.client.post(f"/v1/orders/{other['id']}/cancel", json={"status": "Cancelled"})
    assert cancelled.json()["status_label"] == "cancelled"


def test_a_cancel_with_a_label_not_on_the_list_is_refused_and_changes_nothing(api: Api) -> None:
    # given a merchant with one label of its own, and a paid order
    set_cancel_labels(api, ["Refused"])
    order = ingest(api)
    before = (stock(api, "MUG"), stock(api, "POT"), stock(api, "TEA"))
    for status in ("paid", "fraud", "Canceled", "fully_refunded"):
        # when it is cancelled with a status that is neither cancelled nor the merchant's
        response = api.client.post(
            f"/v1/orders/{order['id']}/cancel",
            json={"status": status},
            headers={"Idempotency-Key": f"bad-label-{status}"},
        )
        # then it is refused with a stable type and a detail listing the allowed labels
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "https://refundry.dev/problems/unknown-cancel-label"
        assert "cancelled, Refused" in problem["detail"]
        assert problem["allowed"] == ["cancelled", "Refused"]
    # and nothing was written: still paid, no refund, stock unchanged
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert (after["order_status"], after["status_label"], after["refunded"]) == ("paid", None, 0)
    assert api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"] == []
    assert (stock(api, "MUG"), stock(api, "POT"), stock(api, "TEA")) == before


def test_a_blank_status_and_a_blank_reason_take_the_defaults(api: Api) -> None:
    order = ingest(api)
    response = api.client.post(
        f"/v1/orders/{order['id']}/cancel", json={"status": "   ", "reason": " \t "}
    )
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert (cancelled["status_label"], cancelled["cancel_reason"]) == (
        "cancelled", "Order cancelled via API",
    )  # fmt: skip
    [refund] = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert refund["reason"] == "Order cancelled via API"
    empty = ingest(api)
    response = api.client.post(f"/v1/orders/{empty['id']}/cancel", json={"status": ""})
    assert response.json()["status_label"] == "cancelled"


def test_the_merchants_cancel_labels_are_shown_set_and_checked(api: Api) -> None:
    # a new merchant has none: only "cancelled" is offered
    assert api.client.get("/v1/merchant").json()["cancel_labels"] == []
    # set, trimmed, then shown
    set_cancel_labels(api, ["  Refused ", "Out of stock", "x" * 64])
    assert api.client.get("/v1/merchant").json()["cancel_labels"] == [
        "Refused", "Out of stock", "x" * 64,
    ]  # fmt: skip
    refused = {
        "blank": ["Refused", "   "],
        "too long": ["y" * 65],
        "a control character": ["Out\nof stock"],
        "a repeat ignoring case": ["Refused", "REFUSED"],
        "an order status": ["Paid"],
        "the default": ["cancelled"],
        "too many": [f"label {n}" for n in range(21)],
    }
    for case, labels in refused.items():
        response = api.client.patch("/v1/merchant", json={"cancel_labels": labels})
        assert response.status_code == 422, case
        assert response.json()["type"].endswith(
            "/validation-error" if case == "too many" else "/invalid-cancel-labels"
        ), case
    # and a refused change leaves the labels as they were
    assert api.client.get("/v1/merchant").json()["cancel_labels"][:2] == ["Refused", "Out of stock"]
    # other settings leave them alone; an empty list clears them
    api.client.patch("/v1/merchant", json={"automatic_capture": False})
    assert len(api.client.get("/v1/merchant").json()["cancel_labels"]) == 3
    assert set_cancel_labels(api, [])["cancel_labels"] == []
