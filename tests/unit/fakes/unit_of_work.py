"""The fake unit of work and its factory: one "transaction" over an ``InMemoryStore``."""

from __future__ import annotations

import copy
from types import TracebackType
from typing import TYPE_CHECKING, Self, cast

from refundry.services.ports.reconciliation import ReconciliationRepository
from refundry.services.ports.staff import StaffRepository
from refundry.services.unit_of_work import RecordedEvent
from tests.unit.fakes.merchants import (
    FakeIdempotencyRepository,
    FakeMerchantRepository,
    FakeProviderEventRepository,
    FakeSettingsRepository,
    FakeStockRepository,
)
from tests.unit.fakes.money_ledgers import FakeFloatRepository, FakePointsRepository
from tests.unit.fakes.orders import FakeOrderRepository
from tests.unit.fakes.outbox import FakeOutboxRepository
from tests.unit.fakes.saved_views import FakeSavedViewRepository
from tests.unit.fakes.stand_ins import NotFaked
from tests.unit.fakes.store import InMemoryStore
from tests.unit.fakes.store_credit import FakeStoreCreditRepository
from tests.unit.fakes.webhooks import FakeWebhookEndpointRepository, FakeWebhookEventRepository

if TYPE_CHECKING:
    from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


class FakeUnitOfWork:
    """One "transaction" over an ``InMemoryStore``: work on a deep copy, publish it on
    ``commit``, drop it on leaving without one. ``committed`` says whether it committed."""

    orders: FakeOrderRepository
    merchants: FakeMerchantRepository
    stock: FakeStockRepository
    idempotency: FakeIdempotencyRepository
    settings: FakeSettingsRepository
    floats: FakeFloatRepository
    outbox: FakeOutboxRepository
    provider_events: FakeProviderEventRepository
    webhook_endpoints: FakeWebhookEndpointRepository
    webhook_events: FakeWebhookEventRepository
    points: FakePointsRepository
    store_credit: FakeStoreCreditRepository
    reconciliation: ReconciliationRepository
    staff: StaffRepository
    saved_views: FakeSavedViewRepository

    def __init__(self, store: InMemoryStore | None = None, *, write: bool = True) -> None:
        self.store = store if store is not None else InMemoryStore()
        self.write = write
        self.committed = False
        self.idempotency_key: str | None = None
        self._working: InMemoryStore | None = None
        self._began_after = 0

    def __enter__(self) -> Self:
        if self._working is not None:
            raise RuntimeError("this unit of work is already open")
        self.committed = False
        self._began_after = self.store.commits
        working = self._working = copy.deepcopy(self.store)
        self.orders = FakeOrderRepository(working)
        self.merchants = FakeMerchantRepository(working)
        self.stock = FakeStockRepository(working)
        self.idempotency = FakeIdempotencyRepository(working)
        self.settings = FakeSettingsRepository(working)
        self.floats = FakeFloatRepository(working)
        self.outbox = FakeOutboxRepository(working)
        self.provider_events = FakeProviderEventRepository(working)
        self.webhook_endpoints = FakeWebhookEndpointRepository(working)
        self.webhook_events = FakeWebhookEventRepository(working)
        self.points = FakePointsRepository(working)
        self.store_credit = FakeStoreCreditRepository(working)
        self.reconciliation = cast(ReconciliationRepository, NotFaked("reconciliation"))
        self.staff = cast(StaffRepository, NotFaked("staff"))
        self.saved_views = FakeSavedViewRepository(working)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Uncommitted work is simply dropped: the store never saw it.
        self._working = None

    def collect_new_events(self) -> list[RecordedEvent]:
        self._write_changes()
        return self.orders.drain_events()

    def commit(self) -> None:
        """Publish this unit's copy as the store's state, as the SQL one commits: refused
        while events are unhandled, and after another unit of work committed meanwhile."""
        working = self._working
        if working is None:
            raise RuntimeError("commit outside the unit of work's with block")
        if self.committed:
            raise RuntimeError("this unit of work has committed already")
        self._write_changes()
        if self.orders.has_recorded_events():
            # Committing now would lose them (an outbox message, a webhook, a points entry).
            raise RuntimeError("events were recorded but not handled; commit through the bus")
        if self.store.commits != self._began_after:
            raise RuntimeError(
                "another unit of work committed since this one began; the fake runs "
                "units of work one at a time and will not overwrite its changes"
            )
        committed = copy.deepcopy(working)
        committed.commits = self.store.commits + 1
        self.store.replace_with(committed)
        self.committed = True

    def _write_changes(self) -> None:
        # Orders live in the working copy already; float accounts keep their new entries
        # on the account until persisted, as the SQL repository does.
        self.floats.persist()
        self.store_credit.persist()


class FakeUnitOfWorkFactory:
    """A ``UnitOfWorkFactory`` whose units of work share one in-memory store, so
    ``transactions.run(factory, use_case)`` runs a use case end to end."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store if store is not None else InMemoryStore()
        self.units: list[FakeUnitOfWork] = []  # every unit of work made, oldest first

    def __call__(self, *, write: bool = True) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.store, write=write)
        self.units.append(uow)
        return uow


if TYPE_CHECKING:  # mypy checks that the fakes fit the ports they stand in for
    _uow: UnitOfWork = FakeUnitOfWork()
    _factory: UnitOfWorkFactory = FakeUnitOfWorkFactory()
