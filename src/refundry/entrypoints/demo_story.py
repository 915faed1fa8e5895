"""The demo's history told in time: one order's clock (``Story``), and what the providers
answered on days past, recorded as the worker records their answers, so the worker finds
nothing left to send for them (``seed_demo`` in ``demo_data``)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from refundry.domain.order import AuthorizationState
from refundry.domain.payments import ProviderRefund, ProviderRefundState
from refundry.domain.refund import RefundStatus
from refundry.services import clock, transactions
from refundry.services.handlers.refund_outcomes import apply_refund_outcome
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

# Runs a use case with the clock pinned at a moment of the story.
At = Callable[[datetime, Callable[..., object]], object]


@dataclass(slots=True)
class Story:
    """One order's clock: each step a while after the last, never later than now, and
    for a story that is history (``before_today``) never today."""

    at: datetime
    now: datetime
    rng: random.Random

    def after(self, hours: float, *, before_today: bool = False) -> datetime:
        latest = self.now - timedelta(minutes=1)
        if before_today:
            latest = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        step = timedelta(hours=self.rng.uniform(hours / 4, hours))
        self.at = max(self.at, min(self.at + step, latest - timedelta(minutes=1)))
        return self.at


def release_hold(
    at: At,
    story: Story,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
) -> None:
    """A cancelled hold of days past, removed by the provider a minute after the cancel,
    as the worker records its answer; the worker then finds nothing left to void. One
    cancelled today is left to the worker."""
    moment = story.after(0.03, before_today=True)
    if moment >= story.now.replace(hour=0, minute=0, second=0, microsecond=0):
        return

    def released(uow: UnitOfWork) -> None:
        order = uow.orders.get(merchant_id, order_id)
        if order.payment.authorization_state is AuthorizationState.VOID_PENDING:
            order.authorization_voided(clock.utcnow())

    at(moment, released)


def settle_refunds(
    uow_factory: UnitOfWorkFactory,
    at: At,
    story: Story,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
) -> None:
    """The card refunds of days past, taken by the provider at once and paid out days
    later, applied as the worker applies a provider's answer (``apply_refund_outcome``);
    the worker then finds them settled and sends nothing. Today's are left to the worker
    and the sandbox gateway, so the demo still shows a refund processing."""
    today = story.now.replace(hour=0, minute=0, second=0, microsecond=0)
    order = transactions.read(uow_factory, lambda uow: uow.orders.get(merchant_id, order_id))
    for refund in order.refunds:
        if refund.status is not RefundStatus.STARTED:
            continue  # by other means: nothing for a provider to do
        reference = f"re_demo_{story.rng.getrandbits(64):016x}"
        for state, hours in (
            (ProviderRefundState.PROCESSING, 0.05),
            (ProviderRefundState.COMPLETED, 72),
        ):
            moment = story.after(hours, before_today=True)
            if moment >= today:
                return
            outcome = ProviderRefund(reference, state)
            at(
                moment,
                lambda uow, refund_id=refund.id, outcome=outcome: apply_refund_outcome(
                    uow, uow.orders.get(merchant_id, order_id), refund_id, outcome
                ),
            )
