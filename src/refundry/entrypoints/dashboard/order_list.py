"""Customer Service's list of orders: found by order id, external id or customer e-mail,
by status, sorted by date or total, a page at a time, every choice in the URL; with the
signed-in member's saved views as tabs beside the status tabs (``view_tabs``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from refundry.domain.errors import InvalidInput
from refundry.domain.order import Order
from refundry.domain.saved_views import Listing
from refundry.domain.status import OrderStatus
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.dashboard.order_reading import in_words
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.routes import QueryText, current_session, to_login
from refundry.entrypoints.dashboard.view_tabs import SaveRefused, ViewTabs, member_views
from refundry.entrypoints.keyset_cursor import decode_amount_cursor, decode_cursor, encode_cursor
from refundry.services import transactions
from refundry.services.handlers.saved_views import filters_for
from refundry.services.handlers.staff import Session
from refundry.services.ports.read_model import ReadModel
from refundry.services.ports.repositories import OrderSort
from refundry.services.views import orders as order_views
from refundry.services.views import saved_views as saved_view_reads

router = APIRouter(include_in_schema=False)  # mounted at /dashboard

ORDERS_PER_PAGE = 50
SORTS = {
    OrderSort.NEWEST: "Newest first",
    OrderSort.OLDEST: "Oldest first",
    OrderSort.HIGHEST_TOTAL: "Highest total",
    OrderSort.LOWEST_TOTAL: "Lowest total",
}
BROKEN_PAGE_LINK = "That page link is broken; start again from the first page."


@router.get("/orders")
def orders_page(
    request: Request,
    container: ContainerDep,
    query: QueryText = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    sort: Annotated[str | None, Query(max_length=32)] = None,
    after: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Customer Service: the orders an order id, external id or customer e-mail finds (all
    of them when none is typed), of one status if asked, sorted by date or total, a page
    at a time; every choice is in the URL. Typing in the box refreshes the list (htmx).
    ``page`` only numbers the rows shown: ``after`` (a cursor) says where the page starts."""
    current = current_session(request, container)
    if current is None:
        return to_login()
    return show_orders(request, container, current, query, status, sort, after, page)


def show_orders(
    request: Request,
    container: ContainerDep,
    current: Session,
    query: str | None,
    status: str | None,
    sort: str | None,
    after: str | None = None,
    page: int = 1,
    *,
    refused: SaveRefused | None = None,
) -> Response:
    """The list; after a refused Save view, with why on its dialog, open again as typed."""
    text = (query or "").strip()[:320] or None
    try:
        wanted = OrderStatus(status) if status else None  # "All" sends no status
        order = OrderSort(sort) if sort else OrderSort.NEWEST
    except ValueError:
        raise InvalidInput(f"{status or sort!r} is not a status or sort of orders") from None
    decode = decode_amount_cursor if order.is_by_total else decode_cursor
    place = decode(after, refusal=BROKEN_PAGE_LINK)
    merchant_id = current.member.merchant_id
    views = member_views(container, current, Listing.ORDERS)

    def load(read: ReadModel) -> tuple[list[Order], dict[OrderStatus, int], dict[UUID, int]]:
        found = order_views.orders_page(
            read,
            merchant_id,
            query=text,
            status=wanted,
            sort=order,
            after=place,
            limit=ORDERS_PER_PAGE + 1,
        )
        counts = order_views.status_counts(read, merchant_id, text)
        # the saved views' counts come from the same grouped counts as the status tabs'
        return (
            found,
            counts,
            saved_view_reads.order_view_counts(read, merchant_id, views, text, counts),
        )

    found, counts, view_counts = transactions.query(container.lagging_reads, load)
    tabs = ViewTabs(
        Listing.ORDERS,
        views,
        filters_for(Listing.ORDERS, status=status, search=text, sort=sort),
        labels={each.value: in_words(each.value).capitalize()
                for each in OrderStatus} | {way.value: label for way, label in SORTS.items()},
        counts=view_counts,
        refused=refused,
    )  # fmt: skip
    shown = found[:ORDERS_PER_PAGE]  # one more than a page says whether a next one exists
    next_cursor = encode_cursor(*order.place_of(shown[-1])) if len(found) > len(shown) else None
    return render(request, "orders.html", 200 if refused is None else refused.status_code,
                  session=current, orders=shown, query=text or "", status=wanted,
                  statuses=list(OrderStatus), counts=counts, sort=order, sorts=SORTS,
                  next_cursor=next_cursor, first_page=place is None,
                  page=page if place is not None else 1, per_page=ORDERS_PER_PAGE, tabs=tabs,
                  total=counts.get(wanted, 0) if wanted else sum(counts.values()))  # fmt: skip
