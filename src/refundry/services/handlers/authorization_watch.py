"""The authorization watch: holds about to lapse on orders nobody has shipped.

A lapsed authorization can no longer be captured, and providers drop it silently
(Stripe cancels after 7 days, Klarna after 28). Before that happens the watch either
flags the order, so support captures or cancels it in time, or cancels it, which
releases the hold and restocks, as the merchant chose. Partly shipped orders are only
flagged: they can no longer be cancelled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from refundry.domain.order import AuthorizationExpiryAction
from refundry.domain.status import FulfilmentStatus
from refundry.services.handlers.cancellation import cancel_order
from refundry.services.transactions import read, run
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

WATCH_ACTOR = "system:authorization-watch"
LAPSING_REASON = "Authorization about to lapse before fulfilment; released by Refundry"


@dataclass(frozen=True, slots=True)
class WatchedAuthorization:
    merchant_id: uuid.UUID
    order_id: uuid.UUID
    action: AuthorizationExpiryAction


def watch_authorizations(
    uow_factory: UnitOfWorkFactory, now: datetime, horizon: timedelta, *, batch: int = 200
) -> list[WatchedAuthorization]:
    """Flag or cancel every unflagged order whose hold lapses within ``horizon``."""
    due = read(
        uow_factory, lambda uow: uow.orders.lapsing_authorizations(now + horizon, limit=batch)
    )
    handled = []
    for merchant_id, order_id in due:
        outcome = run(uow_factory, partial(_handle, merchant_id, order_id, now, horizon))
        if outcome is not None:
            handled.append(outcome)
    return handled


def _handle(
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
    now: datetime,
    horizon: timedelta,
    uow: UnitOfWork,
) -> WatchedAuthorization | None:
    order = uow.orders.get(merchant_id, order_id)  # locked: re-check what the scan saw
    if not order.payment.lapses_within(horizon, now):
        return None
    merchant = uow.merchants.get(merchant_id)
    action = merchant.authorization_expiry_action if merchant else AuthorizationExpiryAction.FLAG
    if action is AuthorizationExpiryAction.VOID and (
        order.fulfilment_status is FulfilmentStatus.UNFULFILLED
        and order.cancel_blocker(now) is None
    ):
        cancel_order(
            uow, merchant_id, order_id, reason=LAPSING_REASON, status_label=None, actor=WATCH_ACTOR
        )
        return WatchedAuthorization(merchant_id, order_id, AuthorizationExpiryAction.VOID)
    order.flag_lapsing_authorization(now)
    return WatchedAuthorization(merchant_id, order_id, AuthorizationExpiryAction.FLAG)
