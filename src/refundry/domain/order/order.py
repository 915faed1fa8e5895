"""``Order``: the root's state with the behaviour of the package's concept modules bound
as its methods, so ``order.cancel(...)`` stays the one way in while each rule lives in a
module of its own (and the import arrows all point down, to ``root``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from refundry.domain.order import (
    authorization,
    cancellation,
    exchanges,
    fulfilment,
    gift_cards,
    refund_calculation,
    refund_outcomes,
    stop_retries,
)
from refundry.domain.order import points as points_rules
from refundry.domain.order import refunds as refund_rules
from refundry.domain.order import returns as return_rules
from refundry.domain.order import store_credit as store_credit_rules
from refundry.domain.order.refund_calculation import RefundRequest
from refundry.domain.order.root import OrderRoot
from refundry.domain.refund import Refund, RefundBreakdown, RefundMethod

__all__ = ["Order"]


class Order(OrderRoot):
    __slots__ = ()

    # ------------------------------------------------------------ behaviour
    # Bound from the concept modules; each function takes the order first. Three modules
    # go by ``*_rules`` names: ``points``, ``refunds`` and ``returns`` here are fields, and
    # ``store_credit`` would read like one.
    # authorization.py: holding and taking the customer's money.
    authorize = authorization.authorize
    capture = authorization.capture
    flag_lapsing_authorization = authorization.flag_lapsing_authorization
    authorization_voided = authorization.authorization_voided
    authorization_void_refused = authorization.authorization_void_refused
    # fulfilment.py: shipping units.
    check_fulfilment = fulfilment.check_fulfilment
    fulfil = fulfilment.fulfil
    # gift_cards.py: the consumer's links.
    open_link = gift_cards.open_link
    spend_link = gift_cards.spend_link
    # cancellation.py: stopping the order, or one item, before it ships.
    cancel_blocker = cancellation.cancel_blocker
    item_cancel_blocker = cancellation.item_cancel_blocker
    cancel = cancellation.cancel
    cancel_item = cancellation.cancel_item
    # refunds.py: the refund ledger and its cap.
    refund_by_id = refund_rules.refund_by_id
    refund_method = refund_rules.refund_method

    def refund(
        self,
        request: RefundRequest,
        *,
        method: RefundMethod | None,
        reason: str | None,
        created_by: str,
        now: datetime,
    ) -> Refund:
        """Give money back (``refunds.refund``); on a stopped order whose stop refund the
        provider refused, that refund again (``stop_retries``)."""
        owed = stop_retries.owed_stop_refund(self)
        if owed is not None:
            return stop_retries.retry_stop_refund(
                self, owed, request, method=method, reason=reason, created_by=created_by, now=now
            )
        return refund_rules.refund(
            self, request, method=method, reason=reason, created_by=created_by, now=now
        )

    auto_refund = refund_rules.auto_refund
    record_external_refund = refund_rules.record_external_refund
    # refund_outcomes.py: the provider's answers about a refund.
    refund_processing = refund_outcomes.refund_processing
    complete_refund = refund_outcomes.complete_refund
    fail_refund = refund_outcomes.fail_refund
    # points.py: the order's share of loyalty points.
    award_points = points_rules.award_points
    redeem_points = points_rules.redeem_points
    preview_points = points_rules.preview_points
    # store_credit.py: the part of a refund given back as store credit.
    store_credit_part = store_credit_rules.store_credit_part
    # returns.py: shipped units coming back.
    return_by_id = return_rules.return_by_id
    returnable_quantity = return_rules.returnable_quantity
    create_return = return_rules.create_return
    approve_return = return_rules.approve_return
    decline_return = return_rules.decline_return
    cancel_return = return_rules.cancel_return
    receive_return = return_rules.receive_return
    refund_return = return_rules.refund_return
    # exchanges.py: a return's value paying for a replacement order.
    exchange_value = exchanges.exchange_value
    exchange_return = exchanges.exchange_return

    def preview_return_refund(self, return_id: uuid.UUID, as_of: datetime) -> RefundBreakdown:
        """What refunding the return would give back as of ``as_of``; changes nothing."""
        return return_rules.return_value(self, self.return_by_id(return_id), as_of)

    def preview_refund(self, request: RefundRequest, as_of: datetime) -> RefundBreakdown:
        """The refund ``request`` would make as of ``as_of``; changes nothing."""
        owed = stop_retries.owed_stop_refund(self)
        if owed is not None:
            stop_retries.check_retry_request(self, owed, request)
            return stop_retries.retry_breakdown(self, owed)
        return refund_calculation.calculate_refund(self, request, as_of)
