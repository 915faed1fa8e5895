"""The order's Refund screen on the server's side (issue 21, item 8): the first step's rows
add up to what is refundable, Full refund says how much, the choices made are carried from
step to step, shipped units go back in stock only when asked, Edit refund's running total
is the review's, and Refund makes one refund however often it is sent. The browser tests
(tests/browser/test_refund_screen.py) walk the same in Chromium."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import Container
from refundry.domain.staff import Role
from refundry.entrypoints.api.app import create_app
from tests.conftest import Api
from tests.e2e.test_dashboard import card_order, csrf_of, make_user, sign_in
from tests.e2e.test_orders_refunds_api import stock
from tests.e2e.test_returns_api import shipped

NUMBER = re.compile(r"-?€[\d,]+\.\d\d")


@pytest.fixture
def admin(api: Api, container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        sign_in(client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
        yield client


def cents(text: str) -> int:
    negative = text.startswith("-")
    value = int(text.lstrip("-€").replace(",", "").replace(".", ""))
    return -value if negative else value


def quote_of(page: str) -> str:
    found = re.search(r'name="quote" value="([^"]+)"', page)
    assert found, "the review binds its amounts with a quote"
    return found.group(1)


def attempt_of(page: str) -> str:
    found = re.search(r'name="attempt" value="([0-9a-f]{32})"', page)
    assert found, "the refund form carries its attempt"
    return found.group(1)


def refunds_of(api: Api, order: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    return found


def test_the_first_steps_rows_add_up_to_what_is_refundable_and_full_refund_says_how_much(
    api: Api, admin: TestClient
) -> None:
    # given an order of 3 articles and shipping, 5.00 of it refunded already
    order = card_order(api)
    assert api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 500}).is_success
    left = api.client.get(f"/v1/orders/{order['id']}").json()["refundable"]
    # when the agent opens Refund
    page = admin.get(f"/dashboard/orders/{order['id']}/refund").text
    # then every row's total is listed, shipping and the refund so far too
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.split("<tbody>")[1], re.S)
    totals = [cents(NUMBER.findall(row)[-1]) for row in rows]
    assert "Shipping" in rows[3]
    assert totals == [2786, 6588, 3084, 588, 13046, -500, left]
    # and the articles and shipping, less the refund, make what is refundable now
    assert sum(totals[:4]) == totals[4]
    assert totals[4] + totals[5] == left
    # Full refund names its amount; Edit refund is a button, in the same form
    assert f"Full refund of €{left // 100}.{left % 100:02d}</button>" in page
    assert re.search(r'<button type="submit" formaction="[^"]+/refund/edit">Edit refund', page)


def test_edit_refund_keeps_the_means_and_restock_chosen_on_the_first_step(
    api: Api, admin: TestClient
) -> None:
    order = shipped(api)
    first = admin.get(f"/dashboard/orders/{order['id']}/refund").text
    assert "Restock the 6 shipped units" in first
    # the first step's form, sent with Edit refund: other means, restock all
    chosen = {"mode": "full", "method": "other", "restock": "all", "attempt": attempt_of(first)}
    edit = admin.get(f"/dashboard/orders/{order['id']}/refund/edit", params=chosen).text
    assert 'value="other" checked' in edit
    boxes = re.findall(r'<input type="checkbox" name="restock" value="[^"]+" ([a-z]*)>', edit)
    assert boxes == ["checked"] * 3, "every shipped line's Restock, as chosen"
    assert attempt_of(edit) == chosen["attempt"]
    form = re.search(r'<form method="get" action="[^"]+/refund/review"(.*?)</form>', edit, re.S)
    assert form
    assert "csrf" not in form.group(1), "a GET's query never holds the token"


def test_review_is_a_page_of_its_own_and_edit_refund_from_it_keeps_everything(
    api: Api, admin: TestClient
) -> None:
    order = card_order(api)
    mug = order["lines"][0]["id"]
    typed = {
        "mode": "edit",
        f"line-{mug}": "1",
        "shipping": "4.90",
        "amount": "2.00",
        "reason": "Chipped & late",
        "method": "other",
        "attempt": "0" * 32,
    }
    review = admin.get(f"/dashboard/orders/{order['id']}/refund/review", params=typed)
    assert review.status_code == 200
    assert "Review refund" in review.text
    assert re.search(r'id="refund-total">€21\.81<', review.text)  # 13.93 + 5.88 + 2.00
    assert "To: different means (recorded only)" in review.text
    # Edit refund is a GET carrying the form, never the CSRF token
    edit_form = re.search(
        r'<form method="get" action="[^"]+/refund/edit">(.*?)</form>', review.text, re.S
    )
    assert edit_form
    assert "csrf" not in edit_form.group(1)
    carried = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', edit_form.group(1)))
    assert carried == {**typed, "reason": "Chipped &amp; late"}
    edit = admin.get(f"/dashboard/orders/{order['id']}/refund/edit", params=typed).text
    assert re.search(rf'<input id="line-{mug}"[^>]*value="1"', edit)
    assert 'name="shipping" inputmode="decimal" value="4.90"' in edit
    assert 'name="amount" inputmode="decimal" value="2.00"' in edit
    assert ">Chipped &amp; late</textarea>" in edit
    assert 'value="other" checked' in edit
    assert 'Refund total: <strong id="running-total">€21.81</strong>' in edit


def test_shipped_units_go_back_in_stock_only_when_restock_is_ticked(
    api: Api, admin: TestClient
) -> None:
    # given a shipped order: 2 mugs, 1 teapot, 3 teas, all shipped
    order = shipped(api)
    mug, pot = order["lines"][0]["id"], order["lines"][1]["id"]
    before = {sku: stock(api, sku) for sku in ("MUG", "POT")}
    page = admin.get(f"/dashboard/orders/{order['id']}/refund/edit").text
    assert re.search(rf'name="restock" value="{mug}" >', page), "offered, not ticked"
    # when one mug is refunded with Restock ticked and the teapot without
    typed = {"mode": "edit", f"line-{mug}": "1", f"line-{pot}": "1", "restock": mug,
             "attempt": attempt_of(page)}  # fmt: skip
    review = admin.get(f"/dashboard/orders/{order['id']}/refund/review", params=typed).text
    # then the review says so, line by line
    assert re.search(r"Mug<br><span[^>]*>1 back in stock<", review)
    assert re.search(r"Teapot<br><span[^>]*>Not restocked<", review)
    made = admin.post(
        f"/dashboard/orders/{order['id']}/refund",
        data={**typed, "csrf": csrf_of(review), "quote": quote_of(review)},
        follow_redirects=False,
    )
    assert made.status_code == 303
    [refund] = refunds_of(api, order)
    restocked = {line["line_id"]: line["restocked_quantity"] for line in refund["lines"]}
    assert restocked == {mug: 1, pot: 0}
    assert (stock(api, "MUG"), stock(api, "POT")) == (before["MUG"] + 1, before["POT"])


def test_the_running_total_is_the_reviews_and_a_refusal_is_put_beside_its_field(
    api: Api, admin: TestClient
) -> None:
    order = card_order(api)
    mug = order["lines"][0]["id"]
    total = f"/dashboard/orders/{order['id']}/refund/total"
    running = admin.get(total, params={"mode": "edit", f"line-{mug}": "1"})
    assert running.status_code == 200
    assert '<strong id="running-total">€13.93</strong>' in running.text
    # every field's place is swapped in, out of band: emptied when fine
    assert re.search(rf'<p class="field-error" id="error-line-{mug}"[^>]*hx-swap-oob="true"></p>',
                     running.text)  # fmt: skip
    too_many = admin.get(total, params={"mode": "edit", f"line-{mug}": "5"}).text
    assert re.search(
        rf'id="error-line-{mug}"[^>]*>You can refund at most 2 units of Mug, not 5\.</p>', too_many
    )
    assert "running-total" not in too_many
    shipping = admin.get(total, params={"mode": "edit", "shipping": "9.00"}).text
    assert re.search(
        r'id="error-shipping"[^>]*>You can refund at most €4\.90 of shipping', shipping
    )
    decimals = admin.get(total, params={"mode": "edit", "amount": "1.234"}).text
    assert re.search(
        r"""id="error-amount"[^>]*>Amount: '1\.234' has more than 2 decimals for EUR\.<""",
        html.unescape(decimals),
    )
    too_much = admin.get(total, params={"mode": "edit", "amount": "5000"}).text
    assert (
        '<p class="field-error" style="margin:0">You can refund at most €130.46 on this order.'
        in too_much
    )
    nothing = admin.get(total, params={"mode": "edit"}).text
    assert "Choose articles, shipping or an amount" in nothing
    assert refunds_of(api, order) == []


def test_refund_answers_with_a_redirect_and_the_same_refund_sent_again_is_made_once(
    api: Api, admin: TestClient
) -> None:
    order = card_order(api)
    mug = order["lines"][0]["id"]
    page = admin.get(f"/dashboard/orders/{order['id']}/refund/edit").text
    typed = {"mode": "edit", f"line-{mug}": "1", "attempt": attempt_of(page)}
    review = f"/dashboard/orders/{order['id']}/refund/review"

    def send(fields: dict[str, str]) -> Any:
        reviewed = admin.get(review, params=fields).text
        return admin.post(
            f"/dashboard/orders/{order['id']}/refund",
            data={**fields, "csrf": csrf_of(reviewed), "quote": quote_of(reviewed)},
            follow_redirects=False,
        )

    first = send(typed)
    assert first.status_code == 303
    assert first.headers["location"] == f"/dashboard/orders/{order['id']}?done=refund-started"
    # Back from the order to the review, reviewed afresh, and Refund again: nothing more,
    # and the order page says the refund was made already
    again = send({**typed, "reason": "Sent twice by mistake"})
    assert (again.status_code, again.headers["location"]) == (
        303,
        f"/dashboard/orders/{order['id']}?done=refund-already-made",
    )
    assert [refund["amount"] for refund in refunds_of(api, order)] == [1393]
    # a refund edited to give back something else is another refund
    other = send({**typed, "amount": "1.00"})
    assert other.status_code == 303
    assert sorted(refund["amount"] for refund in refunds_of(api, order)) == [1393, 1393 + 100]


def test_a_review_reached_without_its_attempt_is_sent_to_itself_with_one(
    admin: TestClient, api: Api
) -> None:
    order = card_order(api)
    review = admin.get(
        f"/dashboard/orders/{order['id']}/refund/review",
        params={"mode": "full", "method": "original"},
        follow_redirects=False,
    )
    # a link made by hand: Back would come to a URL whose Refund is a new attempt each time
    assert review.status_code == 303
    assert "attempt=" in review.headers["location"]
    assert admin.get(review.headers["location"]).status_code == 200
