"""What a provider said about a refund, applied to its locked order.

Two ways of hearing it lead here: the worker's send or poll (``provider_work``) and a
provider's event, applied in the request that receives it (``provider_events``) or, if
that could not be done, by the worker. Either may come first, and a provider may say
the same thing twice (by event and by poll): a refund once settled stays as it is.
"""

from __future__ import annotations

import logging
import uuid

from refundry.domain.money import Money
from refundry.domain.order import Order
from refundry.domain.payments import ProviderRefund, ProviderRefundEvent, ProviderRefundState
from refundry.domain.refund import Refund
from refundry.services.clock import utcnow
from refundry.services.unit_of_work import UnitOfWork

logger = logging.getLogger("refundry.refunds")


def apply_refund_outcome(
    uow: UnitOfWork, order: Order, refund_id: uuid.UUID, outcome: ProviderRefund
) -> Refund:
    """Apply what the provider said to a refund of a locked order; a settled one stays so."""
    now = utcnow()
    refund = order.refund_by_id(refund_id)
    if not refund.is_pending:
        return refund  # the provider may tell us twice, by poll and by event
    match outcome.state:
        case ProviderRefundState.PROCESSING:
            order.refund_processing(refund_id, outcome.reference, now)
        case ProviderRefundState.COMPLETED:
            order.complete_refund(
                refund_id, now, "settled by the provider", provider_reference=outcome.reference
            )
        case ProviderRefundState.FAILED:
            reason = outcome.failure_reason or "refused by the provider"
            order.fail_refund(refund_id, reason, now)
            fields = {"order_id": str(order.id), "refund_id": str(refund_id)}
            logger.warning("refund %s failed at the provider: %s", refund_id, reason, extra=fields)
    return refund


def apply_refund_event(uow: UnitOfWork, order: Order, event: ProviderRefundEvent) -> None:
    """A provider's event about a refund of a locked order: ours moves along; one we
    never asked for (made in the provider's dashboard) is recorded as an external,
    completed refund."""
    ours = next(
        (
            refund
            for refund in order.refunds
            if refund.id == event.refundry_refund_id
            or (event.refund.reference and refund.provider_reference == event.refund.reference)
        ),
        None,
    )
    if ours is not None:
        apply_refund_outcome(uow, order, ours.id, event.refund)
    elif event.refund.state is ProviderRefundState.COMPLETED and event.refund.reference:
        if event.currency_code != order.currency.code:
            logger.error(
                "event %s refunds %s on a %s order; not recorded",
                event.event_id,
                event.currency_code,
                order.currency.code,
                extra={"order_id": str(order.id)},
            )
        else:
            order.record_external_refund(
                Money(event.amount, order.currency), event.refund.reference, None, utcnow()
            )
