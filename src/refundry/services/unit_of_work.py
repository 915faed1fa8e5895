"""The unit of work: one database transaction, the repositories that share it, one commit.

The repositories' protocols are the ports in ``services/ports/``.

Leaving the ``with`` block without ``commit()`` rolls everything back, so a use case
that raises half-way writes nothing. Only ``services/`` commits, and always through
``messagebus.commit``, which first runs the handlers of the events the change recorded.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from refundry.domain.errors import DatabaseUnavailable
from refundry.domain.events import DomainEvent
from refundry.domain.order import Order
from refundry.services.ports.outbox import OutboxRepository
from refundry.services.ports.points import PointsRepository
from refundry.services.ports.reconciliation import ReconciliationRepository
from refundry.services.ports.repositories import (
    FloatRepository,
    IdempotencyRepository,
    MerchantRepository,
    OrderRepository,
    ProviderEventRepository,
    SettingsRepository,
    StockRepository,
)
from refundry.services.ports.saved_views import SavedViewRepository
from refundry.services.ports.staff import StaffRepository
from refundry.services.ports.store_credit import StoreCreditRepository
from refundry.services.ports.webhooks import (
    WebhookEndpointRepository,
    WebhookEventRepository,
)

# An event with the order that recorded it: what the message bus hands its handlers.
RecordedEvent = tuple[Order, DomainEvent]


class CommitOutcomeUnknown(DatabaseUnavailable):
    """The connection was lost while the transaction committed: the change may or may
    not have been made. Sending the request again is safe only with the same
    Idempotency-Key (its stored answer comes back if the change was made); without one it
    could do the change twice, so this is never answered as a plain "try again"."""

    code = "commit-outcome-unknown"
    title = "The database connection was lost while committing; the change may have been made"


class UnitOfWork(Protocol):
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def merchants(self) -> MerchantRepository: ...
    @property
    def stock(self) -> StockRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def settings(self) -> SettingsRepository: ...
    @property
    def floats(self) -> FloatRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def provider_events(self) -> ProviderEventRepository: ...
    @property
    def webhook_endpoints(self) -> WebhookEndpointRepository: ...
    @property
    def webhook_events(self) -> WebhookEventRepository: ...
    @property
    def points(self) -> PointsRepository: ...
    @property
    def store_credit(self) -> StoreCreditRepository: ...
    @property
    def reconciliation(self) -> ReconciliationRepository: ...
    @property
    def staff(self) -> StaffRepository: ...
    @property
    def saved_views(self) -> SavedViewRepository: ...

    # The Idempotency-Key of the request this work runs for, told to webhook receivers.
    idempotency_key: str | None

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def collect_new_events(self) -> list[RecordedEvent]:
        """The events recorded since the last call, each handed out once; the changes
        that recorded them are written first, as the handlers' rows refer to them."""
        ...

    def commit(self) -> None:
        """Write what is left and commit; refused while recorded events are unhandled
        (use ``messagebus.commit``, which handles them first)."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = True) -> UnitOfWork: ...
