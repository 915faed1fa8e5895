"""The signed-in member's saved views as tabs of a list (Orders, Returns), beside its own
status tabs, with the Save view and Delete view dialogs (``saved_views.html``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from refundry.domain.saved_views import MAX_NAME, Listing, SavedView, ViewFilters
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.services import transactions
from refundry.services.handlers.staff import Session
from refundry.services.views import saved_views as saved_view_reads


@dataclass(frozen=True, slots=True)
class SaveRefused:
    """A Save view that was refused: why, in plain words, and the name as typed."""

    message: str
    name: str
    status_code: int


@dataclass(frozen=True, slots=True)
class ViewTabs:
    listing: Listing
    views: list[SavedView]
    filters: ViewFilters  # the page's own choices
    # what a status or sort is called on the page ("paid" -> "Paid")
    labels: Mapping[str, str]
    counts: Mapping[uuid.UUID, int] = field(default_factory=dict)
    refused: SaveRefused | None = None
    max_name: int = MAX_NAME

    @property
    def current(self) -> SavedView | None:
        """The view whose choices the page shows: its tab is the chosen one."""
        return next((view for view in self.views if view.filters == self.filters), None)

    def link(self, filters: ViewFilters) -> str:
        return link_to(self.listing, filters)


def link_to(listing: Listing, filters: ViewFilters) -> str:
    """The list showing these choices, its query string written anew from them."""
    params = filters.params()
    return f"/dashboard/{listing.value}" + (f"?{urlencode(params)}" if params else "")


def member_views(container: ContainerDep, current: Session, listing: Listing) -> list[SavedView]:
    """Read on the primary, not the lagging replica the list itself may come from: a view
    just saved is on the page the save leads to."""
    return transactions.query(
        container.read_models,
        lambda read: saved_view_reads.views_of(read, current.member, listing),
    )
