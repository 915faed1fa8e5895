"""The port staff members' saved views are kept through (``domain/saved_views.py``)."""

from __future__ import annotations

import uuid
from typing import Protocol

from refundry.domain.saved_views import Listing, SavedView


class SavedViewReads(Protocol):
    def of_member(
        self, merchant_id: uuid.UUID, member_id: uuid.UUID, listing: Listing
    ) -> list[SavedView]:
        """The member's views on the list, oldest first (the order of their tabs)."""
        ...


class SavedViewRepository(SavedViewReads, Protocol):
    def lock_member(self, merchant_id: uuid.UUID, member_id: uuid.UUID) -> None:
        """Hold the member's views until the transaction ends: another save of theirs
        waits here, then reads this one's views. Only the name is unique in the
        database; the limit and the same-choices check are the handler's."""
        ...

    def add(self, view: SavedView) -> bool:
        """Keep a new view; ``False`` (nothing kept) if the member has one of the same
        name on that list, in any case: two saves racing cannot both win."""
        ...

    def delete(
        self, merchant_id: uuid.UUID, member_id: uuid.UUID, view_id: uuid.UUID
    ) -> SavedView | None:
        """Remove the member's own view and return it; ``None`` if they have no such view
        (another member's or another merchant's included)."""
        ...
