"""The message bus: what else happens, in the same transaction, because an order changed.

Use cases change aggregates; the aggregates record domain events (``domain/events.py``).
Before a unit of work commits, ``commit`` hands every recorded event to the handlers
``EVENT_HANDLERS`` names for its type, then commits. The handlers write through the same
unit of work, so the transactional outbox keeps its guarantee: a change that rolls back
leaves none of their rows behind, and a committed change never lacks them.

Handlers take a batch: each runs once per round with all its events of the commit, in
the order they were recorded (a webhook's per-order sequence follows it), so a change
that completes a hundred refunds reads the merchant's endpoints once, not a hundred times.
Handlers run in the order of ``HANDLER_ORDER``; events a handler records in turn are
handled in a further round, until none is left.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from refundry.domain.events import (
    AuthorizationVoidRequested,
    DomainEvent,
    OrderAutoRefunded,
    OrderCancelled,
    OrderRefunded,
    PointsAwarded,
    PointsRedeemed,
    PointsRestored,
    PointsReversed,
    RefundRequested,
    RefundStatusChanged,
    ReturnChanged,
    StockMoved,
    StoreCreditIssued,
)
from refundry.services.clock import utcnow
from refundry.services.handlers import (
    points,
    provider_outbox,
    stock,
    store_credit,
    webhook_publishing,
)
from refundry.services.unit_of_work import RecordedEvent, UnitOfWork

EventHandler = Callable[[UnitOfWork, Sequence[RecordedEvent], datetime], None]

# Who acts on which event. An event type with no entry is recorded and dropped.
EVENT_HANDLERS: Mapping[type[DomainEvent], tuple[EventHandler, ...]] = {
    # the payment provider's work: sent by the worker after the commit
    RefundRequested: (provider_outbox.enqueue_provider_work,),
    AuthorizationVoidRequested: (provider_outbox.enqueue_provider_work,),
    # the customer's points ledger, under the account's row lock
    PointsAwarded: (points.record_points,),
    PointsReversed: (points.record_points,),
    PointsRedeemed: (points.record_points,),
    PointsRestored: (points.record_points,),
    # the customer's store credit, under the account's row lock
    StoreCreditIssued: (store_credit.record_store_credit,),
    # the shelf: units back on it (cancels, restocking refunds) or off it (placement)
    StockMoved: (stock.apply_stock_moves,),
    # the merchant's webhook endpoints
    OrderCancelled: (webhook_publishing.publish,),
    OrderRefunded: (webhook_publishing.publish,),
    RefundStatusChanged: (webhook_publishing.publish,),
    OrderAutoRefunded: (webhook_publishing.publish,),
    ReturnChanged: (webhook_publishing.publish,),
}

# Provider work first, webhooks last: the order each commit has always written them in.
HANDLER_ORDER: tuple[EventHandler, ...] = (
    provider_outbox.enqueue_provider_work,
    points.record_points,
    store_credit.record_store_credit,
    webhook_publishing.publish,
    stock.apply_stock_moves,  # its rows are written at the commit, last (popular SKUs lock)
)


def handle_events(uow: UnitOfWork) -> None:
    """Run the handlers of every event recorded in ``uow`` so far, rounds until none is left."""
    now = utcnow()
    while recorded := uow.collect_new_events():
        batches: dict[EventHandler, list[RecordedEvent]] = {}
        for order, event in recorded:
            for handler in EVENT_HANDLERS.get(type(event), ()):
                batches.setdefault(handler, []).append((order, event))
        for handler in HANDLER_ORDER:
            if handler in batches:
                handler(uow, batches[handler], now)


def commit(uow: UnitOfWork) -> None:
    """The one way a use case's change is committed: its events handled, then the commit."""
    handle_events(uow)
    uow.commit()
