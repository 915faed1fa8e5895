"""Saved views (Shopify's): a staff member's named set of a list's filters, search and
sort, shown as a tab beside the list's own status tabs.

A view belongs to one member of one merchant: no one else sees it, or can delete it. It
keeps the few choices its list understands (``ViewFilters``), never a URL or a page of
the list: the link to it is written anew from them each time it is shown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from refundry.domain.errors import Conflict, InvalidInput, NotFound

MAX_NAME = 40  # a tab's label, not a description
MAX_VIEWS = 20  # per member and list: a row of tabs, not a catalogue


class Listing(StrEnum):
    """The lists a view can be saved on, by their path under the dashboard."""

    ORDERS = "orders"
    RETURNS = "returns"


@dataclass(frozen=True, slots=True)
class ViewFilters:
    """A list's choices as its URL names them: ``status``, ``query`` (the search typed)
    and ``sort``; ``None`` where the list's own default stands."""

    status: str | None = None
    search: str | None = None
    sort: str | None = None

    def params(self) -> dict[str, str]:
        """The list's query parameters for these choices, defaults left out."""
        named = {"status": self.status, "query": self.search, "sort": self.sort}
        return {key: value for key, value in named.items() if value}


@dataclass(frozen=True, slots=True)
class SavedView:
    id: uuid.UUID
    merchant_id: uuid.UUID
    member_id: uuid.UUID  # the staff member whose view it is
    listing: Listing
    name: str
    filters: ViewFilters
    created_at: datetime


def checked_view_name(name: str) -> str:
    """The name as kept: trimmed, not blank, at most ``MAX_NAME`` characters."""
    kept = " ".join(name.split())  # a tab's label is one line
    if not kept or len(kept) > MAX_NAME:
        raise ViewNameInvalid(
            f"a view's name must be 1 to {MAX_NAME} characters, not {len(kept)}",
            length=len(kept),
            most=MAX_NAME,
        )
    return kept


def same_name(one: str, other: str) -> bool:
    """Two names a person would take for one ("Big orders", "big Orders")."""
    return one.casefold() == other.casefold()


class ViewNameInvalid(InvalidInput):
    code = "view-name-invalid"
    title = "A view's name must be 1 to 40 characters"


class ViewNameTaken(Conflict):
    """The member has a view of that name on that list already."""

    code = "view-name-taken"
    title = "A view of that name exists"


class ViewAlreadySaved(Conflict):
    """The member has a view of exactly these filters on that list already."""

    code = "view-already-saved"
    title = "These filters are saved as a view already"


class ViewLimitReached(Conflict):
    code = "view-limit-reached"
    title = "No more views can be saved on this list"


class SavedViewNotFound(NotFound):
    """Also what another member's or another merchant's view looks like."""

    code = "saved-view-not-found"
    title = "Saved view not found"
