"""The fake of staff members' saved views: as the SQL one, every read and change names
the member and their merchant, and one name per member and list, in any case."""

from __future__ import annotations

import uuid

from refundry.domain.saved_views import Listing, SavedView, same_name
from tests.unit.fakes.store import InMemoryStore


class FakeSavedViewRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.locked: list[tuple[uuid.UUID, uuid.UUID]] = []  # (merchant, member), in order

    def lock_member(self, merchant_id: uuid.UUID, member_id: uuid.UUID) -> None:
        self.locked.append((merchant_id, member_id))

    def of_member(
        self, merchant_id: uuid.UUID, member_id: uuid.UUID, listing: Listing
    ) -> list[SavedView]:
        return [
            view
            for view in self._store.saved_views  # kept in the order they were saved
            if (view.merchant_id, view.member_id, view.listing) == (merchant_id, member_id, listing)
        ]

    def add(self, view: SavedView) -> bool:
        if any(
            same_name(kept.name, view.name)
            for kept in self.of_member(view.merchant_id, view.member_id, view.listing)
        ):
            return False
        self._store.saved_views.append(view)
        return True

    def delete(
        self, merchant_id: uuid.UUID, member_id: uuid.UUID, view_id: uuid.UUID
    ) -> SavedView | None:
        for view in self._store.saved_views:
            if (view.id, view.merchant_id, view.member_id) == (view_id, merchant_id, member_id):
                self._store.saved_views.remove(view)
                return view
        return None
