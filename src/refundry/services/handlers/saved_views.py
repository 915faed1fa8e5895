"""A staff member saves the filters, search and sort of the Orders or Returns list as a
named view (Shopify's saved views), and deletes one. Views are the member's own: every
read and write names the member and their merchant, so another's is never touched.

Only the choices the list understands are kept, each checked against the list's own
vocabulary (``filters_for``): a view can never carry a URL, or a parameter of any other
kind, back into a page."""

from __future__ import annotations

import uuid

from refundry.domain.errors import InvalidInput
from refundry.domain.returns import ReturnStatus
from refundry.domain.saved_views import (
    MAX_VIEWS,
    Listing,
    SavedView,
    SavedViewNotFound,
    ViewAlreadySaved,
    ViewFilters,
    ViewLimitReached,
    ViewNameTaken,
    checked_view_name,
    same_name,
)
from refundry.domain.staff import StaffMember
from refundry.domain.status import OrderStatus
from refundry.services.clock import utcnow
from refundry.services.ports.repositories import OrderSort, ReturnSort
from refundry.services.unit_of_work import UnitOfWork

# The Returns list's tab of the refunds cancellations made: a status of the list, not of
# a return.
CANCELLATIONS = "cancellations"
MAX_SEARCH = 320  # as the lists' search box

_STATUSES: dict[Listing, frozenset[str]] = {
    Listing.ORDERS: frozenset(OrderStatus),
    Listing.RETURNS: frozenset({*ReturnStatus, CANCELLATIONS}),
}
# Sorts besides the list's default (newest first), which a URL leaves out; Returns has
# only its default.
_SORTS: dict[Listing, frozenset[str]] = {
    Listing.ORDERS: frozenset(sort for sort in OrderSort if sort is not OrderSort.NEWEST),
    Listing.RETURNS: frozenset(sort for sort in ReturnSort if sort is not ReturnSort.NEWEST),
}
_DEFAULT_SORTS: dict[Listing, str | None] = {
    Listing.ORDERS: OrderSort.NEWEST.value,
    Listing.RETURNS: ReturnSort.NEWEST.value,
}


def filters_for(
    listing: Listing, *, status: str | None, search: str | None, sort: str | None
) -> ViewFilters:
    """The list's choices as a view keeps them: each one the list knows, or refused; the
    list's defaults as ``None``, so one set of choices has one way to be written."""
    status = status or None
    sort = None if sort in ("", _DEFAULT_SORTS[listing]) else sort
    if status is not None and status not in _STATUSES[listing]:
        raise InvalidInput(f"{status!r} is not a status of the {listing.value} list")
    if sort is not None and sort not in _SORTS[listing]:
        raise InvalidInput(f"{sort!r} is not a sort of the {listing.value} list")
    text = (search or "").strip() or None
    if text is not None and (len(text) > MAX_SEARCH or "\x00" in text):
        raise InvalidInput(f"a search is at most {MAX_SEARCH} characters of text")
    return ViewFilters(status=status, search=text, sort=sort)


def save_view(
    uow: UnitOfWork,
    member: StaffMember,
    listing: Listing,
    name: str,
    *,
    status: str | None = None,
    search: str | None = None,
    sort: str | None = None,
) -> SavedView:
    """Keep the list's current choices as the member's view named ``name``. Refused: a
    blank or too long name, a name the member uses on this list already (in any case),
    the same choices saved already, and more than ``MAX_VIEWS`` views on one list."""
    kept_name = checked_view_name(name)
    filters = filters_for(listing, status=status, search=search, sort=sort)
    # Locked before they are read: two saves at once would otherwise both pass the checks
    # below, one list over MAX_VIEWS or the same choices saved twice.
    uow.saved_views.lock_member(member.merchant_id, member.id)
    owned = uow.saved_views.of_member(member.merchant_id, member.id, listing)
    for view in owned:
        if same_name(view.name, kept_name):
            raise ViewNameTaken(f"you have a view named {view.name!r}", name=view.name)
        if view.filters == filters:
            raise ViewAlreadySaved(f"these filters are saved as {view.name!r}", name=view.name)
    if len(owned) >= MAX_VIEWS:
        raise ViewLimitReached(f"at most {MAX_VIEWS} views per list", most=MAX_VIEWS)
    view = SavedView(
        uuid.uuid4(), member.merchant_id, member.id, listing, kept_name, filters, utcnow()
    )
    if not uow.saved_views.add(view):  # saved meanwhile, under the same name
        raise ViewNameTaken(f"you have a view named {kept_name!r}", name=kept_name)
    return view


def delete_view(uow: UnitOfWork, member: StaffMember, view_id: uuid.UUID) -> SavedView:
    """Delete one of the member's own views; any other is not found (a 404, not a 403:
    it does not say that someone else has a view of that id)."""
    deleted = uow.saved_views.delete(member.merchant_id, member.id, view_id)
    if deleted is None:
        raise SavedViewNotFound("no such saved view")
    return deleted
