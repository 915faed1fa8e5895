"""Why an order, a line or a gift-card link cannot be cancelled, as the API says it: a
stable ``cancel_blocked_code`` to branch on, which is what a cancel sent now is refused
with (the problem's condition, else its type), and ``cancel_blocked_because``, the same
reason as a sentence, with no status written as a value (``fully_refunded``)."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import gift_order
from tests.e2e.test_returns_api import problem_type


def refused_with(api: Api, path: str) -> str:
    """The problem's condition, else its type, of a cancel sent now."""
    answer = api.client.post(path, json={})
    assert answer.status_code == 409, answer.text
    return str(answer.json().get("condition") or problem_type(answer))


def blocked(resource: dict[str, Any]) -> tuple[bool, str | None]:
    because = resource["cancel_blocked_because"]
    if because is not None:  # a sentence a person can read as it is
        assert re.fullmatch(r"[A-Z0-9].*\.", because), because
        assert not re.search(r"\b[a-z]+_[a-z_]+\b(?!\))", because), because  # no raw values
    return resource["can_cancel"], resource["cancel_blocked_code"]


def test_a_cancelled_order_and_its_lines_say_so_by_code(api: Api) -> None:
    order = api.client.post("/v1/orders", json=order_body()).json()
    mug = order["lines"][0]["id"]
    # before: nothing blocks, nothing to say
    assert blocked(order) == (True, None)
    assert order["cancel_blocked_because"] is None
    assert api.client.post(f"/v1/orders/{order['id']}/cancel", json={}).status_code == 200
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert blocked(after) == (False, "order-already-cancelled")
    assert {blocked(line) for line in after["lines"]} == {(False, "order-already-cancelled")}
    assert refused_with(api, f"/v1/orders/{order['id']}/cancel") == "order-already-cancelled"
    item = f"/v1/orders/{order['id']}/items/{mug}/cancel"
    assert refused_with(api, item) == "order-already-cancelled"


def test_a_fully_refunded_order_says_so_in_words_and_its_lines_have_nothing_open(
    api: Api,
) -> None:
    order = api.client.post("/v1/orders", json=order_body()).json()
    assert api.client.post(f"/v1/orders/{order['id']}/refund", json={}).status_code == 201
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert blocked(after) == (False, "order-already-refunded")
    assert after["cancel_blocked_because"] == (
        f"Order {order['id']} is already fully refunded; there is nothing left to cancel."
    )
    assert refused_with(api, f"/v1/orders/{order['id']}/cancel") == "order-already-refunded"
    mug = after["lines"][0]
    assert blocked(mug) == (False, "no-open-units")
    assert refused_with(api, f"/v1/orders/{order['id']}/items/{mug['id']}/cancel") == (
        "no-open-units"
    )


def test_a_shipped_order_and_line_point_to_a_return(api: Api) -> None:
    order = api.client.post("/v1/orders", json=order_body()).json()
    shipped = api.client.post(f"/v1/orders/{order['id']}/fulfil").json()
    assert blocked(shipped) == (False, "order-fulfilled")
    assert "return" in shipped["cancel_blocked_because"]
    assert refused_with(api, f"/v1/orders/{order['id']}/cancel") == "order-fulfilled"
    mug = shipped["lines"][0]
    assert blocked(mug) == (False, "fulfilled")
    assert refused_with(api, f"/v1/orders/{order['id']}/items/{mug['id']}/cancel") == "fulfilled"


def test_an_opened_link_blocks_itself_its_line_and_its_order_by_the_same_code(
    api: Api,
) -> None:
    order = gift_order(api)
    link = order["lines"][0]["links"][0]
    assert api.client.get(link["url"]).status_code == 200  # the consumer opens it
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    line = after["lines"][0]
    assert blocked(after) == (False, "link-accessed")
    assert blocked(line) == (False, "link-accessed")
    assert blocked(line["links"][0]) == (False, "link-accessed")
    assert blocked(line["links"][1]) == (True, None)
    assert refused_with(api, f"/v1/orders/{order['id']}/cancel") == "link-accessed"
    assert refused_with(api, f"/v1/orders/{order['id']}/items/{link['id']}/cancel") == (
        "link-accessed"
    )
