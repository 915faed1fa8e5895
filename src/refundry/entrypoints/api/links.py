"""OpenAPI links: which ids in a response the next requests take (create an order, then
capture it, preview a refund, make it, cancel). Clients read them as documentation;
the stateful fuzz test (schemathesis) follows them with the ids it got back."""

from __future__ import annotations

from typing import Any

ORDER = "/v1/orders/{order_id}"
ORDER_ID = "$response.body#/id"


def link(
    method: str,
    path: str,
    description: str,
    *,
    request_body: dict[str, str] | None = None,
    **parameters: str,
) -> dict[str, Any]:
    """A link to the operation ``method path``, its parameters taken from the response."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    definition: dict[str, Any] = {
        "operationRef": f"#/paths/{pointer}/{method.lower()}",
        "description": description,
        "parameters": parameters,
    }
    if request_body is not None:
        definition["requestBody"] = request_body
    return definition


def links(status_code: int, **named: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """For a route's ``responses``: FastAPI merges them into its own response."""
    return {status_code: {"links": named}}


def order_links(*names: str, order_id: str = ORDER_ID) -> dict[str, dict[str, Any]]:
    """Links from a response that carries an order's id to what can be done with it."""
    every = {
        "GetOrder": link("GET", ORDER, "Read the order", order_id=order_id),
        "AuthorizeOrder": link("POST", f"{ORDER}/authorize", "Record the hold", order_id=order_id),
        "CaptureOrder": link("POST", f"{ORDER}/capture", "Capture the hold", order_id=order_id),
        "FulfilOrder": link("POST", f"{ORDER}/fulfil", "Ship units", order_id=order_id),
        "CancelOrder": link("POST", f"{ORDER}/cancel", "Cancel the order", order_id=order_id),
        "CancelItem": link(
            "POST",
            f"{ORDER}/items/{{item_id}}/cancel",
            "Cancel the first line",
            order_id=order_id,
            item_id="$response.body#/lines/0/id",
        ),
        "CancelLink": link(
            "POST",
            f"{ORDER}/items/{{item_id}}/cancel",
            "Cancel the first line's first gift-card link",
            order_id=order_id,
            item_id="$response.body#/lines/0/links/0/id",
        ),
        "SpendLink": link(
            "POST",
            "/v1/links/{link_id}/spend",
            "Spend from the first line's first gift-card link",
            link_id="$response.body#/lines/0/links/0/id",
        ),
        "PreviewRefund": link(
            "POST", f"{ORDER}/refund/preview", "Review a refund", order_id=order_id
        ),
        "RefundOrder": link("POST", f"{ORDER}/refund", "Refund", order_id=order_id),
        "ListRefunds": link("GET", f"{ORDER}/refunds", "The order's refunds", order_id=order_id),
    }
    return {name: every[name] for name in names}
