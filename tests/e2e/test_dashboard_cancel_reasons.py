"""Why a cancel is not offered, in plain words (issue 21): the More options menus show a
disabled Cancel order (or Cancel order item) with the reason a person reads, never the
domain's words ("order 3f2… is already fully_refunded"). Every reason the domain gives
for an order, a line or a link has words of its own in refusals.py."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from refundry.domain.errors import ItemNotCancellable, OrderAlreadyRefunded, RefundryError
from refundry.domain.order import Order
from refundry.domain.staff import Role
from refundry.entrypoints.dashboard.refusals import Reader, in_plain_words
from refundry.services import transactions
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import browser_client, gift_order, make_user, sign_in

__all__ = ["browser_client"]  # the fixture, shared with the dashboard's other tests

READER = Reader("en_GB", ZoneInfo("UTC"))
DEVELOPER_WORDS = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}|\b[a-z]+_[a-z_]+\b|\bline \w|\bcancell(?:ed|ing)\b", re.IGNORECASE
)


def disabled_reasons(page: str, action: str = r"Cancel order(?: item)?") -> list[str]:
    """The reason shown under each disabled ``action`` (a pattern) of the page's More
    options menus."""
    found = re.findall(
        rf'aria-disabled="true"[^>]*>{action}</(?:button|a)>\s*<p class="why-not"[^>]*>([^<]*)<',
        page,
    )
    return [reason.replace("&#39;", "'") for reason in found]


def load(api: Api, order: dict[str, Any]) -> Order:
    found: Order = transactions.read(
        api.container.uow_factory,
        lambda uow: uow.orders.get(api.merchant.merchant.id, uuid.UUID(order["id"])),
    )
    return found


def assert_plain(said: str) -> None:
    assert not DEVELOPER_WORDS.search(said), said
    assert re.fullmatch(r"[A-Z0-9].*\.", said), said


def test_the_menus_say_why_a_cancel_is_not_offered_in_plain_words(
    api: Api, browser_client: TestClient
) -> None:
    # given a canceled order, a fully refunded one, a shipped one, and gift-card links of
    # which the consumer opened the first
    canceled, refunded, shipped = (
        api.client.post("/v1/orders", json=order_body()).json() for _ in range(3)
    )
    assert api.client.post(f"/v1/orders/{canceled['id']}/cancel", json={}).is_success
    assert api.client.post(f"/v1/orders/{refunded['id']}/refund", json={}).status_code == 201
    assert api.client.post(f"/v1/orders/{shipped['id']}/fulfil").is_success
    links = gift_order(api)
    assert api.client.get(links["lines"][0]["links"][0]["url"]).status_code == 200
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))

    def reasons(order: dict[str, Any]) -> list[str]:
        return disabled_reasons(browser_client.get(f"/dashboard/orders/{order['id']}").text)

    # then each menu's disabled entry says why, as a person would
    assert reasons(canceled) == ["This order is already canceled."]
    assert reasons(refunded) == [
        "This order is already fully refunded, so nothing is left to cancel."
    ]
    assert reasons(shipped) == [
        "6 units of this order have shipped, so it can no longer be canceled. Create a return "
        "for them, or refund them with Refund order, instead."
    ]
    opened = datetime.now(UTC).strftime("%-d %B %Y")
    assert reasons(links) == [
        f"Link 1 of 2 was opened by the customer on {opened}, so the order can no longer be "
        "canceled.",
        f"Link 1 of 2 was opened by the customer on {opened}, so it can no longer be canceled.",
    ]


def test_every_reason_an_order_line_or_link_cannot_be_canceled_has_plain_words(
    api: Api,
) -> None:
    # given orders in every state that stops a cancel, and each blocker the domain gives
    now = datetime.now(UTC)
    fresh = api.client.post("/v1/orders", json=order_body()).json()
    blockers: list[tuple[RefundryError, Order]] = []
    for action in ("cancel", "refund", "fulfil"):  # canceled, fully refunded, shipped
        made = api.client.post("/v1/orders", json=order_body()).json()
        body = None if action == "fulfil" else {}
        assert api.client.post(f"/v1/orders/{made['id']}/{action}", json=body).is_success
        order = load(api, made)
        blockers += [(b, order) for b in (order.cancel_blocker(now),) if b is not None]
        blockers += [
            (b, order) for line in order.lines if (b := order.item_cancel_blocker(line, now))
        ]
    links = gift_order(api)
    assert api.client.get(links["lines"][0]["links"][0]["url"]).status_code == 200
    order = load(api, links)
    found = [order.cancel_blocker(now), order.item_cancel_blocker(order.lines[0], now)]
    found += [link.cancellation_blocker(now) for link in order.links]
    blockers += [(b, order) for b in found if b is not None]
    # and the reasons no state above reaches: an order reversed automatically, one waiting
    # for the rest of its payment
    plain = load(api, fresh)
    blockers += [
        (OrderAlreadyRefunded("order reversed", order_status="auto_refunded"), plain),
        (ItemNotCancellable("order waits", condition="waiting_for_payment"), plain),
    ]
    codes = {str(b.extensions.get("condition", b.code)) for b, _ in blockers}
    assert codes >= {
        "order-already-cancelled", "order-already-refunded", "order-fulfilled", "fulfilled",
        "no-open-units", "waiting_for_payment", "link-accessed",
    }  # fmt: skip
    # then each reads as plain words, not as the domain's detail
    for blocker, on in blockers:
        said = in_plain_words(blocker, on, READER)
        assert_plain(said)
        assert said != blocker.detail


@pytest.mark.parametrize(
    ("condition", "extensions", "words"),
    [
        ("fulfilled", {}, "Units of Mug have shipped: shipped items come back through a return."),
        (
            "no-open-units",
            {},
            "Nothing of Mug is left to cancel: each unit is canceled or refunded.",
        ),
        ("link-cancelled", {}, "Every gift-card link of Mug is already canceled."),
    ],
)
def test_a_lines_reason_names_the_item(
    api: Api, condition: str, extensions: dict[str, str], words: str
) -> None:
    order = load(api, api.client.post("/v1/orders", json=order_body()).json())
    line_id = str(order.lines[0].id)
    blocker = ItemNotCancellable("x", condition=condition, line_id=line_id, **extensions)
    assert in_plain_words(blocker, order, READER) == words
