"""A return's steps as a person reads them, on the order's timeline and the return's
history: a Why only when someone gave a reason (a decline, a cancel with one), never the
step's own name that the ledger keeps when there is none ("Why: opened")."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from refundry.domain.staff import Role
from tests.conftest import Api
from tests.e2e.test_dashboard import browser_client, make_user, sign_in
from tests.e2e.test_returns_api import create_return, shipped

__all__ = ["browser_client"]  # the fixture, shared with the dashboard's other tests


def return_rows(page: str) -> list[tuple[str, str]]:
    """(what, why) of the order timeline's rows about returns."""
    table = page.split("<h2>Timeline</h2>", 1)[1]
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td>\s*<td>[^<]*</td><td>([^<]*)</td>", table)
    return [(re.sub(r"#\w+ ", "", what), why) for what, why in rows if what.startswith("Return")]


def test_a_returns_steps_give_a_why_only_when_someone_gave_one(
    api: Api, browser_client: TestClient
) -> None:
    # given a shipped order with three returns: one opened and received, one requested,
    # approved and canceled with no reason, one requested and declined with a reason
    order = shipped(api)
    mug, pot, tea = (line["id"] for line in order["lines"])
    opened = create_return(api, order, lines=[{"line_id": mug, "quantity": 1}])
    received = api.client.post(
        f"/v1/returns/{opened['id']}/receive", json={"lines": [{"line_id": mug, "damaged": 1}]}
    )
    assert received.status_code == 200, received.text
    asked = create_return(api, order, lines=[{"line_id": pot, "quantity": 1}], requested=True)
    assert api.client.post(f"/v1/returns/{asked['id']}/approve").status_code == 200
    assert api.client.post(f"/v1/returns/{asked['id']}/cancel", json={}).status_code == 200
    refused = create_return(api, order, lines=[{"line_id": tea, "quantity": 1}], requested=True)
    declined = api.client.post(
        f"/v1/returns/{refused['id']}/decline", json={"reason": "outside the 30-day window"}
    )
    assert declined.status_code == 200, declined.text
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    # when the order's timeline is read
    page = browser_client.get(f"/dashboard/orders/{order['id']}").text
    # then each step says what happened, and only the decline says why
    assert sorted(return_rows(page)) == sorted([
        ("Return opened", "—"),
        ("Return received: 0 resellable and 1 damaged of Mug", "—"),
        ("Return requested", "—"),
        ("Return approved", "—"),
        ("Return canceled", "—"),
        ("Return requested", "—"),
        ("Return declined", "outside the 30-day window"),
    ])  # fmt: skip
    # and the return's own history reads the same way
    history = browser_client.get(f"/dashboard/returns/{asked['id']}").text.split("History", 1)[1]
    assert "Why:" not in history
    assert re.search(r"<strong>Approved</strong>", history)
    assert re.search(r"<strong>Canceled</strong>", history)
    declined_page = browser_client.get(f"/dashboard/returns/{refused['id']}").text
    assert "Why: outside the 30-day window" in declined_page
    # its items are not awaited any more: they say so, not "Not yet"
    items = declined_page.split("<h2>Items</h2>", 1)[1].split("</table>", 1)[0]
    assert "Not coming back: the return was declined" in items
    assert "Not yet" not in items
