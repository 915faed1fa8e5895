"""Item cancels through the API before and after the money is captured (issue 19's third
bug, and the older defect of money left on a cancelled order)."""

from __future__ import annotations

from tests.conftest import Api
from tests.e2e.test_orders_refunds_api import TOTAL, ingest, stock
from tests.e2e.test_reports_api import RANGE

# order_body()'s lines: MUG 2786, POT 6588, TEA 3084; shipping 490 + 98.
MUG, POT, TEA, SHIPPING = 2786, 6588, 3084, 490 + 98


def test_cancelling_the_only_line_through_items_cancels_the_order(api: Api) -> None:
    # given a paid, unshipped order of one line
    order = ingest(api, lines=[{"sku": "SOLO", "name": "Solo", "quantity": 2, "unit_price": 1000}])
    line = order["lines"][0]
    # when its only line is cancelled as an item
    done = api.client.post(f"/v1/orders/{order['id']}/items/{line['id']}/cancel")
    # then the order is cancelled (not fully_refunded), its money back with the shipping
    assert done.status_code == 200, done.text
    cancelled = done.json()
    assert (cancelled["order_status"], cancelled["refunded"]) == ("cancelled", order["total"])
    [refund] = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert (refund["kind"], refund["amount"]) == ("cancellation", order["total"])


def test_a_capture_after_an_item_cancel_takes_only_what_the_live_items_are_worth(
    api: Api,
) -> None:
    # given an authorized order whose mugs were cancelled while the money was only held
    order = ingest(api, payment={"capture": "manual"})
    path = f"/v1/orders/{order['id']}"
    mug, pot, tea = order["lines"]
    stopped = api.client.post(f"{path}/items/{mug['id']}/cancel")
    assert stopped.json()["captured"] == 0  # no money moved
    # when it is captured in full (no amount)
    paid = api.client.post(f"{path}/capture").json()
    # then the capture takes the teapot, the teas and the shipping, not the mugs
    assert (paid["order_status"], paid["captured"]) == ("paid", TOTAL - MUG)
    # and when its last items are cancelled, nothing is left captured on the cancelled order
    api.client.post(f"{path}/items/{pot['id']}/cancel")
    last = api.client.post(f"{path}/items/{tea['id']}/cancel").json()
    assert (last["order_status"], last["refunded"], last["refundable"]) == (
        "cancelled", TOTAL - MUG, 0,
    )  # fmt: skip
    assert stock(api, "MUG") == stock(api, "POT") == stock(api, "TEA") == 0


def test_a_capture_above_what_the_live_items_are_worth_is_refused_and_writes_nothing(
    api: Api,
) -> None:
    # given an authorized order whose teapot was cancelled while the money was only held
    order = ingest(api, payment={"capture": "manual"})
    path = f"/v1/orders/{order['id']}"
    api.client.post(f"{path}/items/{order['lines'][1]['id']}/cancel")
    # when a capture names more than the mugs, the teas and the shipping are worth
    refused = api.client.post(f"{path}/capture", json={"amount": TOTAL - POT + 1})
    # then it is a problem naming what can be captured, and the hold stays as it was
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("/invalid-amount")
    assert problem["capturable"] == TOTAL - POT
    held = api.client.get(path).json()
    assert (held["order_status"], held["captured"]) == ("authorized", 0)
    # and a part of it is captured as asked
    part = api.client.post(f"{path}/capture", json={"amount": TOTAL - POT}).json()
    assert (part["order_status"], part["captured"]) == ("paid", MUG + TEA + SHIPPING)


def test_the_reports_count_what_the_capture_sold_not_items_cancelled_before_it(
    api: Api,
) -> None:
    # given an authorized order whose mugs were cancelled while the money was only held
    order = ingest(api, payment={"capture": "manual"})
    path = f"/v1/orders/{order['id']}"
    mug, pot, _ = order["lines"]
    api.client.post(f"{path}/items/{mug['id']}/cancel")
    # when the rest is captured
    paid = api.client.post(f"{path}/capture").json()
    assert paid["captured"] == TOTAL - MUG
    # then the summary's sale adds up to what was captured: the teapot, the teas, shipping
    summary = api.client.get(f"/v1/reports/summary?{RANGE}").json()["totals"][0]
    sale = (summary["gross_sales"], summary["discounts"], summary["tax"], summary["shipping"])
    assert sale == (5490 + 3 * 890, 100, 1098 + 514 + 98, 490)
    assert summary["gross_sales"] - summary["discounts"] + summary["tax"] + 490 == TOTAL - MUG
    assert summary["net_sales"] == 5490 + 3 * 890 - 100
    # and the items report sold no mug
    items = {row["sku"]: row for row in api.client.get(f"/v1/reports/items?{RANGE}").json()["data"]}
    sold = {sku: (row["units_sold"], row["gross"], row["discounts"]) for sku, row in items.items()}
    assert sold == {"MUG": (0, 0, 0), "POT": (1, 5490, 0), "TEA": (3, 3 * 890, 100)}
    assert items["MUG"]["units_cancelled"] == 0  # no refund: nothing was taken for them
    # and a teapot cancelled after the capture stays sold, its cancellation taking it back
    api.client.post(f"{path}/items/{pot['id']}/cancel")
    api.settle()
    summary = api.client.get(f"/v1/reports/summary?{RANGE}").json()["totals"][0]
    assert (summary["gross_sales"], summary["cancellations"]) == (5490 + 3 * 890, POT)
    assert summary["net_sales"] == 3 * 890 - 100
    items = {row["sku"]: row for row in api.client.get(f"/v1/reports/items?{RANGE}").json()["data"]}
    assert (items["POT"]["units_sold"], items["POT"]["units_cancelled"]) == (1, 1)
