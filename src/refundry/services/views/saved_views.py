"""A staff member's saved views of a list, and how many orders each of the Orders list's
views finds where that costs no more than the list's own status tabs."""

from __future__ import annotations

import uuid

from refundry.domain.saved_views import Listing, SavedView
from refundry.domain.staff import StaffMember
from refundry.domain.status import OrderStatus
from refundry.services.ports.read_model import ReadModel
from refundry.services.views import orders as order_views


def views_of(read: ReadModel, member: StaffMember, listing: Listing) -> list[SavedView]:
    """The member's own views of the list, oldest first: their tabs, in that order."""
    return read.saved_views.of_member(member.merchant_id, member.id, listing)


def order_view_counts(
    read: ReadModel,
    merchant_id: uuid.UUID,
    views: list[SavedView],
    search: str | None,
    counts: dict[OrderStatus, int],
) -> dict[uuid.UUID, int]:
    """How many orders each view finds, from the status tabs' grouped counts: ``counts``
    are those of the page's own ``search``; views with no search of their own need one
    grouped count more (all the merchant's orders), made once. A view that searches for
    something else has no count: that would be one more count per view."""
    by_search = {search: counts}
    if search is not None and any(view.filters.search is None for view in views):
        by_search[None] = order_views.status_counts(read, merchant_id, None)
    found = {}
    for view in views:
        known = by_search.get(view.filters.search)
        if known is not None:
            status = view.filters.status
            found[view.id] = known.get(OrderStatus(status), 0) if status else sum(known.values())
    return found
