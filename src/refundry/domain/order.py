"""The order aggregate: lines, shipping, payment, fulfilment and its refund ledger.

An order changes only through its methods, each of which checks the transition
table, bumps ``version`` (what a refund quote is bound to) and leaves the money
totals derivable from the ledger: ``refunded`` is the sum of refunds that count,
never a second number kept beside them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from refundry.domain import refund_calculation
from refundry.domain.errors import (
    FulfilmentExceedsOpen,
    IllegalTransition,
    InvalidInput,
    InvalidOrder,
    ItemNotCancellable,
    ItemNotFound,
    LinkNotFound,
    OrderAlreadyCancelled,
    OrderAlreadyRefunded,
    OrderFulfilled,
    OrderNotAutoRefundable,
    OrderNotCancellable,
    OrderNotCapturable,
    OrderNotFulfillable,
    RefundExceedsRefundable,
    RefundNotFound,
    UnknownOrderLine,
)
from refundry.domain.events import (
    AuthorizationVoidRequested,
    CancelledUnits,
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
)
from refundry.domain.gift_card import GiftCardLink
from refundry.domain.money import Currency, Money, cumulative_share
from refundry.domain.order_parts import (
    AuthorizationState,
    Cancellation,
    CaptureMode,
    Customer,
    LineKind,
    OrderLine,
    Payment,
    PaymentMethod,
    Shipping,
)
from refundry.domain.points import OrderPoints, PointsMove
from refundry.domain.refund import (
    Refund,
    RefundBreakdown,
    RefundKind,
    RefundMethod,
    RefundStatus,
    sum_money,
)
from refundry.domain.refund_calculation import LineRefundRequest, LineRefundTotals, RefundRequest
from refundry.domain.status import (
    TERMINAL_STATUSES,
    FulfilmentStatus,
    OrderStatus,
    can_transition,
)

DEFAULT_CANCEL_REASON = "Order cancelled via API"
DEFAULT_CANCEL_LABEL = "cancelled"
DEFAULT_ITEM_CANCEL_REASON = "Order item cancelled via API"
AUTO_REFUND_REASON = (
    "Reversed automatically: the redeem order's transaction record was still missing "
    "at reconciliation"
)


@dataclass(slots=True)
class Order:
    id: uuid.UUID
    merchant_id: uuid.UUID
    external_id: str | None
    customer: Customer
    currency: Currency
    lines: list[OrderLine]
    shipping: Shipping
    payment: Payment
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    status_label: str | None = None
    cancel_reason: str | None = None
    cancelled_at: datetime | None = None
    refunds: list[Refund] = field(default_factory=list)
    links: list[GiftCardLink] = field(default_factory=list)
    points: OrderPoints = field(default_factory=OrderPoints)
    version: int = 1
    # Recorded by commands, drained into the outbox by the unit of work; never loaded.
    events: list[DomainEvent] = field(default_factory=list)

    # ----------------------------------------------------------------- queries
    @property
    def total(self) -> Money:
        lines = sum_money((line.total for line in self.lines), self.currency)
        return lines + self.shipping.amount + self.shipping.tax

    @property
    def refunded(self) -> Money:
        return sum_money(
            (refund.amount for refund in self.refunds if refund.counts_against_cap),
            self.currency,
        )

    @property
    def points_value_refunded(self) -> Money:
        """Of ``refunded``, the part given back in points (redeem orders)."""
        return sum_money(
            (
                refund.points_value
                for refund in self.refunds
                if refund.counts_against_cap and refund.points_value is not None
            ),
            self.currency,
        )

    @property
    def refundable(self) -> Money:
        remaining = self.payment.captured - self.refunded
        return remaining if remaining.minor > 0 else Money.zero(self.currency)

    def line(self, line_id: uuid.UUID) -> OrderLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise UnknownOrderLine(f"order {self.id} has no line {line_id}", line_id=str(line_id))

    def line_refunds(self, line_id: uuid.UUID) -> LineRefundTotals:
        return refund_calculation.line_refund_totals(self.refunds, line_id, self.currency)

    def shipping_refunded(self) -> tuple[Money, Money]:
        return refund_calculation.shipping_refund_totals(self.refunds, self.currency)

    def open_quantity(self, line: OrderLine) -> int:
        """Units still waiting to ship."""
        removed = line.cancelled_quantity + self.line_refunds(line.id).unfulfilled_quantity
        return line.quantity - line.fulfilled_quantity - removed

    def refundable_quantity(self, line: OrderLine, as_of: datetime) -> int:
        """Units that may still be refunded by line. A gift-card link is refundable only
        while it could be cancelled (unopened, unexpired, unspent): its value is with the
        consumer otherwise, and a refund kills the link like a cancel does."""
        units_left = line.quantity - line.cancelled_quantity - self.line_refunds(line.id).quantity
        if line.kind is LineKind.GIFT_CARD_LINK and self.links_of(line.id):
            # Both bounds: links refunded before refunds killed them are still alive.
            return min(units_left, len(self.refundable_links(line, as_of)))
        return units_left

    def refundable_links(self, line: OrderLine, as_of: datetime) -> list[GiftCardLink]:
        return [
            link
            for link in self.links_of(line.id)
            if link.cancelled_at is None and link.cancellation_blocker(as_of) is None
        ]

    @property
    def fulfilment_status(self) -> FulfilmentStatus:
        fulfilled = sum(line.fulfilled_quantity for line in self.lines)
        if fulfilled == 0:
            return FulfilmentStatus.UNFULFILLED
        if any(self.open_quantity(line) > 0 for line in self.lines):
            return FulfilmentStatus.PARTIALLY_FULFILLED
        return FulfilmentStatus.FULFILLED

    def cancel_blocker(self, now: datetime) -> OrderNotCancellable | None:
        """Why the whole order cannot be cancelled now, or ``None`` if it can."""
        try:
            self._check_cancellable(now)
        except OrderNotCancellable as blocker:
            return blocker
        return None

    def links_of(self, line_id: uuid.UUID) -> list[GiftCardLink]:
        return [link for link in self.links if link.order_line_id == line_id]

    def link(self, link_id: uuid.UUID) -> GiftCardLink:
        for link in self.links:
            if link.id == link_id:
                return link
        raise LinkNotFound(f"order {self.id} has no link {link_id}", link_id=str(link_id))

    def item_cancel_blocker(self, line: OrderLine, now: datetime) -> ItemNotCancellable | None:
        """Why this line cannot be cancelled as one item now, or ``None`` if it can."""
        if self.status in (OrderStatus.CANCELLED, OrderStatus.AUTO_REFUNDED):
            return ItemNotCancellable(f"order {self.id} is {self.status}")
        if line.kind is LineKind.GIFT_CARD_LINK:
            live = [link for link in self.links_of(line.id) if link.cancelled_at is None]
            if not live:
                return ItemNotCancellable(f"every link of line {line.id} is already cancelled")
            for link in live:
                blocker = link.cancellation_blocker(now)
                if blocker is not None:
                    return ItemNotCancellable(
                        blocker.detail, condition=blocker.code, **blocker.extensions
                    )
            return None
        if line.fulfilled_quantity:
            return ItemNotCancellable(
                f"line {line.id} has fulfilled units; refund them with restock (a return) instead",
                condition="fulfilled",
            )
        if self.open_quantity(line) == 0:
            return ItemNotCancellable(f"line {line.id} has no open unit left to cancel")
        return None

    def restock_for(self, refund: Refund) -> dict[str, int]:
        restock: dict[str, int] = {}
        for refund_line in refund.breakdown.lines:
            line = self.line(refund_line.order_line_id)
            if line.is_stocked and refund_line.restocked_quantity:
                restock[line.sku] = restock.get(line.sku, 0) + refund_line.restocked_quantity
        return restock

    # ---------------------------------------------------------------- commands
    def authorize(
        self, amount: Money | None, now: datetime, validity: timedelta | None = None
    ) -> None:
        """Hold money on the customer's account; ``validity`` is how long the hold lasts."""
        if self.status is not OrderStatus.PENDING:
            raise OrderNotCapturable(f"order is {self.status}; only a pending order is authorized")
        amount = self.total if amount is None else amount
        if not 0 < amount.minor <= self.total.minor:
            raise InvalidOrder("authorized amount must be positive and at most the order total")
        self.payment.hold(amount, now, validity)
        self._move_to(OrderStatus.AUTHORIZED, now)

    def capture(self, amount: Money | None, now: datetime) -> None:
        if self.status is not OrderStatus.AUTHORIZED:
            raise OrderNotCapturable(
                f"order is {self.status}; only an authorized order can be captured"
            )
        self.payment.take(amount, now)
        self._move_to(OrderStatus.PAID, now)

    def award_points(self, points: int, now: datetime) -> None:
        """The points an earning order's captured payment earns; awarded once."""
        if points < 0:
            raise InvalidInput("points awarded cannot be negative")
        if self.points.earned or not points or self.payment.captured.minor == 0:
            return
        self.points.earned = points
        self.events.append(PointsAwarded(self.id, points))
        # Refunds recorded before the capture (one made in the provider's dashboard, say)
        # take their share at once, charged to the latest of them.
        counting = [refund for refund in self.refunds if refund.counts_against_cap]
        self._rebalance_points(counting[-1] if counting else None)
        self._touch(now)

    def redeem_points(self, now: datetime) -> None:
        """A redeem order's checkout spends its points (recorded once, at placement)."""
        redemption = self.payment.redemption
        if redemption is None or self.points.redeemed:
            return
        self.points.redeemed = redemption.points
        self.events.append(PointsRedeemed(self.id, redemption.points))
        self._touch(now)

    def auto_refund(self, *, reason: str | None, created_by: str, now: datetime) -> Refund:
        """Reverse a settled redeem order whose transaction record never arrived: give
        back every refundable unit, money and points, and end the order as
        ``auto_refunded`` (terminal, refund-class; seed 004)."""
        if self.payment.redemption is None:
            raise OrderNotAutoRefundable(
                f"order {self.id} paid no points; it is not a redeem order"
            )
        if self.status not in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED):
            raise OrderNotAutoRefundable(
                f"order {self.id} is {self.status}; only a paid or partially refunded redeem "
                "order is reversed automatically",
                order_status=self.status.value,
            )
        reason = reason or AUTO_REFUND_REASON
        request = RefundRequest.full()
        try:
            by_lines = self.preview_refund(request, now).total
        except RefundExceedsRefundable:
            by_lines = Money.zero(self.currency)
        if by_lines < self.refundable:
            # Units that can no longer be refunded by line (an opened gift-card link) were
            # paid for too: the reversal gives back all the money, as an amount.
            request = RefundRequest(amount=self.refundable.minor)
        refund = self._record_refund(
            request,
            kind=RefundKind.AUTO_REFUND,
            method=self.default_refund_method,
            reason=reason,
            created_by=created_by,
            now=now,
            derive_status=False,
        )
        self._cancel_refunded_links(refund, reason, now)
        self.cancel_reason = reason
        self._move_to(OrderStatus.AUTO_REFUNDED, now)
        self.events.append(OrderAutoRefunded(self.id, refund.id, reason, created_by))
        return refund

    def fulfil(self, quantities: Mapping[uuid.UUID, int] | None, now: datetime) -> None:
        """Ship units; ``None`` ships every open unit."""
        for line_id, quantity in self.check_fulfilment(quantities).items():
            self.line(line_id).fulfilled_quantity += quantity
        self._touch(now)

    def check_fulfilment(self, quantities: Mapping[uuid.UUID, int] | None) -> dict[uuid.UUID, int]:
        """The units ``fulfil`` would ship, or the error it would raise; changes nothing.
        A held payment is captured for a fulfilment only once it is known to be possible."""
        if self.status in (OrderStatus.PENDING, OrderStatus.CANCELLED, OrderStatus.AUTO_REFUNDED):
            raise OrderNotFulfillable(f"order is {self.status}; it cannot be fulfilled")
        if quantities is None:
            quantities = {line.id: self.open_quantity(line) for line in self.lines}
            quantities = {line_id: qty for line_id, qty in quantities.items() if qty > 0}
            if not quantities:
                raise FulfilmentExceedsOpen("no unit of this order is left to fulfil")
        for line_id, quantity in quantities.items():
            line = self.line(line_id)
            open_units = self.open_quantity(line)
            if not 0 < quantity <= open_units:
                raise FulfilmentExceedsOpen(
                    f"line {line_id} has {open_units} open units; cannot fulfil {quantity}",
                    line_id=str(line_id),
                    open_quantity=open_units,
                )
        return dict(quantities)

    def cancel(
        self,
        *,
        reason: str | None,
        status_label: str | None,
        created_by: str,
        now: datetime,
    ) -> Cancellation:
        """Stop the order for good: restock every open unit and undo the payment.

        An authorization is marked for voiding (money never left the customer). Captured
        money gets a cancellation refund for everything still refundable, so the sales
        report sees the cancel.
        """
        self._check_cancellable(now)
        reason = reason or DEFAULT_CANCEL_REASON
        stopped = tuple(
            CancelledUnits(line.id, units)
            for line in self.lines
            if (units := self.open_quantity(line)) > 0
        )
        refund: Refund | None = None
        restock: dict[str, int] = {}
        if self.payment.captured.minor > 0:
            refund = self._record_refund(
                RefundRequest.full(restock=True),
                kind=RefundKind.CANCELLATION,
                method=self.default_refund_method,
                reason=reason,
                created_by=created_by,
                now=now,
            )
            restock = self.restock_for(refund)
        # The links die after the refund is worked out: it counts them as live units.
        for link in self.links:
            if link.cancelled_at is None:
                link.cancel(reason, now)
        # Units the cancellation refund did not cover (nothing captured, or lines
        # whose units were already refunded) are stopped without money moving.
        for line in self.lines:
            open_units = self.open_quantity(line)
            if open_units > 0:
                line.cancelled_quantity += open_units
                if line.is_stocked:
                    restock[line.sku] = restock.get(line.sku, 0) + open_units
        authorization_to_void = self.payment.authorization_state is AuthorizationState.ACTIVE
        if authorization_to_void:
            self.payment.authorization_state = AuthorizationState.VOID_PENDING
            self.events.append(AuthorizationVoidRequested(self.id))
        self.cancel_reason = reason
        self.status_label = status_label or DEFAULT_CANCEL_LABEL
        self.cancelled_at = now
        self._move_to(OrderStatus.CANCELLED, now)
        self.events.append(
            OrderCancelled(
                self.id,
                None,
                stopped,
                None if refund is None else refund.id,
                reason,
                created_by,
                authorization_voided=authorization_to_void,
            )
        )
        return Cancellation(refund, restock, authorization_to_void)

    def preview_refund(self, request: RefundRequest, as_of: datetime) -> RefundBreakdown:
        return refund_calculation.calculate_refund(self, request, as_of)

    def preview_points(self, amount: Money) -> tuple[Money | None, PointsMove]:
        """What a refund of ``amount`` would give back in points' value, and the points
        it would reverse and restore; nothing changes."""
        value_share = self._points_value_share(amount)
        trial = replace(self.points)
        move = trial.rebalance(
            self.refunded + amount,
            self.payment.captured,
            self.points_value_refunded + (value_share or Money.zero(self.currency)),
            self.payment.points_value,
        )
        return value_share, move

    def refund(
        self,
        request: RefundRequest,
        *,
        method: RefundMethod | None,
        reason: str | None,
        created_by: str,
        now: datetime,
    ) -> Refund:
        """Give money back; ``method=None`` means the way the customer paid.

        Refunded gift-card link units cancel that many links that could still be
        cancelled, so a refunded link can never be opened or spent afterwards.
        """
        refund = self._record_refund(
            request,
            kind=RefundKind.REFUND,
            method=self.refund_method(method),
            reason=reason,
            created_by=created_by,
            now=now,
        )
        self.events.append(OrderRefunded(self.id, refund.id))
        self._cancel_refunded_links(refund, reason or "Refunded", now)
        return refund

    def cancel_item(
        self, item_id: uuid.UUID, *, reason: str | None, created_by: str, now: datetime
    ) -> Refund | None:
        """Cancel one item: a gift-card link, or every open unit of one line. Irreversible.

        Captured money comes back as a cancellation refund of those units (to the float,
        credited when the invoice cycle closes, for float-paid orders); on an order not
        yet captured the units are simply stopped.
        """
        if self.status in (OrderStatus.CANCELLED, OrderStatus.AUTO_REFUNDED):
            raise ItemNotCancellable(f"order {self.id} is {self.status}")
        line, links = self._item(item_id)
        if len(links) == 1 and links[0].id == item_id:
            link_blocker = links[0].cancellation_blocker(now)
            if link_blocker is not None:
                raise link_blocker  # names the failed condition: accessed, expired, spent
        else:
            line_blocker = self.item_cancel_blocker(line, now)
            if line_blocker is not None:
                raise line_blocker
        units = len(links) if line.kind is LineKind.GIFT_CARD_LINK else self.open_quantity(line)
        reason = reason or DEFAULT_ITEM_CANCEL_REASON
        refund: Refund | None = None
        if self.payment.captured.minor == 0:
            line.cancelled_quantity += units
            self._touch(now)
        else:
            # Worked out while the links still count as live units, then they die.
            refund = self._record_refund(
                RefundRequest(lines=(LineRefundRequest(line.id, units),)),
                kind=RefundKind.CANCELLATION,
                method=self.default_refund_method,
                reason=reason,
                created_by=created_by,
                now=now,
                derive_status=True,
            )
        for link in links:
            link.cancel(reason, now)
        self.events.append(
            OrderCancelled(
                self.id,
                item_id,
                (CancelledUnits(line.id, units),),
                None if refund is None else refund.id,
                reason,
                created_by,
            )
        )
        return refund

    def open_link(self, link_id: uuid.UUID, now: datetime) -> GiftCardLink:
        link = self.link(link_id)
        first_time = link.accessed_at is None
        link.open(now)
        if first_time:
            self._touch(now)
        return link

    def spend_link(self, link_id: uuid.UUID, amount: Money, now: datetime) -> GiftCardLink:
        link = self.link(link_id)
        link.spend(amount, now)
        self._touch(now)
        return link

    def complete_refund(
        self,
        refund_id: uuid.UUID,
        now: datetime,
        detail: str | None = None,
        *,
        provider_reference: str | None = None,
    ) -> Refund:
        refund = self.refund_by_id(refund_id)
        if provider_reference is not None:
            refund.provider_reference = provider_reference
        previous = refund.status
        refund.complete(now, detail)
        self._refund_moved(refund, previous)
        self._touch(now)
        return refund

    def refund_processing(
        self, refund_id: uuid.UUID, provider_reference: str | None, now: datetime
    ) -> Refund:
        """The provider accepted the refund and will settle it later."""
        refund = self.refund_by_id(refund_id)
        known_reference = refund.provider_reference
        previous = refund.status
        moved = refund.mark_processing(now, provider_reference)
        if moved:
            self._refund_moved(refund, previous)
        if moved or refund.provider_reference != known_reference:
            self._touch(now)
        return refund

    def fail_refund(self, refund_id: uuid.UUID, reason: str, now: datetime) -> dict[str, int]:
        """The provider refused the refund: its money and units are refundable again.

        Returns the stock to take back off the shelf: a failed refund undoes its
        restock too, so a second attempt with ``restock`` does not count the units twice.
        """
        refund = self.refund_by_id(refund_id)
        previous = refund.status
        refund.fail(now, reason)
        self._rebalance_points(refund)  # the money stayed, so do the points
        self._refund_moved(refund, previous)
        if self.status in TERMINAL_STATUSES:
            # The order stays stopped: its units stay cancelled and on the shelf, and
            # only the money is owed again (a full refund now gives it back whole).
            for refund_line in refund.breakdown.lines:
                self.line(
                    refund_line.order_line_id
                ).cancelled_quantity += refund_line.unfulfilled_quantity
            self._touch(now)
            return {}
        self._move_to(self.status_from_ledger(), now)
        return {sku: -units for sku, units in self.restock_for(refund).items()}

    def authorization_void_refused(self, now: datetime) -> None:
        if self.payment.end_void(AuthorizationState.VOID_FAILED):
            self._touch(now)

    def flag_lapsing_authorization(self, now: datetime) -> None:
        if self.payment.flag_lapsing(now):
            self._touch(now)

    def authorization_voided(self, now: datetime) -> None:
        if self.payment.end_void(AuthorizationState.VOIDED):
            self._touch(now)

    def record_external_refund(
        self, amount: Money, provider_reference: str, reason: str | None, now: datetime
    ) -> Refund:
        """A refund made in the provider's own dashboard: the money has already left, so it
        is recorded as completed whatever the cap says, and the ledger derives the status."""
        for refund in self.refunds:
            if refund.provider_reference == provider_reference:
                return refund  # the provider told us twice
        if amount.minor <= 0:
            raise InvalidInput("an external refund must have a positive amount")
        breakdown = RefundBreakdown(
            currency=self.currency,
            lines=(),
            shipping=Money.zero(self.currency),
            shipping_tax=Money.zero(self.currency),
            goodwill=amount,
            adjustment=Money.zero(self.currency),
        )
        refund = Refund.record(
            order_id=self.id,
            kind=RefundKind.EXTERNAL,
            method=RefundMethod.ORIGINAL,
            breakdown=breakdown,
            reason=reason or "Refunded in the payment provider's dashboard",
            created_by="provider",
            now=now,
            provider_reference=provider_reference,
        )
        self.refunds.append(refund)
        self._rebalance_points(refund)
        self.events.append(OrderRefunded(self.id, refund.id))
        if self.status in TERMINAL_STATUSES or self.payment.captured.minor == 0:
            self._touch(now)
        else:
            self._move_to(self.status_from_ledger(), now)
        return refund

    # --------------------------------------------------------------- internals
    def _item(self, item_id: uuid.UUID) -> tuple[OrderLine, list[GiftCardLink]]:
        """The line an item id names and the live links it covers (a link, or a line's)."""
        for link in self.links:
            if link.id == item_id:
                return self.line(link.order_line_id), [link]
        for line in self.lines:
            if line.id == item_id:
                return line, [link for link in self.links_of(line.id) if link.cancelled_at is None]
        raise ItemNotFound(f"order {self.id} has no line or link {item_id}", item_id=str(item_id))

    def refund_by_id(self, refund_id: uuid.UUID) -> Refund:
        for refund in self.refunds:
            if refund.id == refund_id:
                return refund
        raise RefundNotFound(f"order {self.id} has no refund {refund_id}")

    def _check_cancellable(self, now: datetime) -> None:
        if self.status is OrderStatus.CANCELLED:
            raise OrderAlreadyCancelled(f"order {self.id} is already cancelled")
        if self.status is OrderStatus.AUTO_REFUNDED:
            raise OrderAlreadyRefunded(
                f"order {self.id} was reversed automatically by reconciliation "
                "(auto_refunded, a terminal state); there is nothing left to cancel",
                order_status=self.status.value,
            )
        if self.status is OrderStatus.FULLY_REFUNDED:
            raise OrderAlreadyRefunded(f"order {self.id} is already {self.status}")
        fulfilled = sum(line.fulfilled_quantity for line in self.lines)
        if fulfilled:
            raise OrderFulfilled(
                f"{fulfilled} unit(s) of order {self.id} are fulfilled, so it can no longer be "
                "cancelled; refund the fulfilled units with restock: true (a return) instead",
                fulfilled_quantity=fulfilled,
            )
        for link in self.links:
            blocker = None if link.cancelled_at else link.cancellation_blocker(now)
            if blocker is not None:
                raise OrderNotCancellable(
                    f"a gift-card link can no longer be cancelled: {blocker.detail}",
                    condition=blocker.code,
                    **blocker.extensions,
                )

    def refund_method(self, requested: RefundMethod | None) -> RefundMethod:
        """The method a refund really takes. ``original`` is the way the customer paid (the
        float, for a float-paid order); only a float-paid order can be refunded to a float."""
        if requested is None or requested is RefundMethod.ORIGINAL:
            return self.default_refund_method
        if requested is RefundMethod.FLOAT and self.payment.method is not PaymentMethod.FLOAT:
            raise InvalidInput(
                "only an order paid from the merchant's float can be refunded to the float",
                method=requested.value,
            )
        return requested

    @property
    def default_refund_method(self) -> RefundMethod:
        if self.payment.method is PaymentMethod.OTHER:
            return RefundMethod.OTHER
        if self.payment.method is PaymentMethod.FLOAT:
            return RefundMethod.FLOAT
        return RefundMethod.ORIGINAL  # for points: back to the customer's points account

    def _record_refund(
        self,
        request: RefundRequest,
        *,
        kind: RefundKind,
        method: RefundMethod,
        reason: str | None,
        created_by: str,
        now: datetime,
        derive_status: bool | None = None,
    ) -> Refund:
        breakdown = refund_calculation.calculate_refund(self, request, now)
        refund = Refund.record(
            order_id=self.id,
            kind=kind,
            method=method,
            breakdown=breakdown,
            reason=reason,
            created_by=created_by,
            now=now,
        )
        refund.points_value = self._points_value_share(refund.amount)
        self.refunds.append(refund)
        self._rebalance_points(refund)
        if refund.points_value is not None and refund.money_amount.minor == 0 and refund.is_pending:
            # All of it goes back as points, in this very transaction: nothing to send.
            refund.complete(now, "given back in points")
        if refund.is_sent_to_provider and refund.is_pending:
            self.events.append(RefundRequested(self.id, refund.id))
        # A whole-order cancel sets its own terminal status; refunds and item
        # cancellations leave the status to the ledger, unless the order has ended
        # (a refund retried after a cancellation refund failed).
        derive = derive_status if derive_status is not None else kind is RefundKind.REFUND
        if derive and self.status not in TERMINAL_STATUSES:
            self._move_to(self.status_from_ledger(), now)
        else:
            self._touch(now)
        return refund

    def _points_value_share(self, amount: Money) -> Money | None:
        """For a redeem order, the part of a new refund of ``amount`` given back in points:
        what brings the points' refunded value to its cumulative share of the refunded
        total, so that a full refund gives back exactly the points' value and exactly the
        money paid, whatever refunds failed on the way."""
        value = self.payment.points_value
        if value.minor == 0:
            return None
        captured = self.payment.captured.minor
        refunded_after = min(self.refunded.minor + amount.minor, captured)
        already = self.points_value_refunded.minor
        money_left = self.payment.money_captured.minor - (self.refunded.minor - already)
        target = cumulative_share(value.minor, refunded_after, captured) - already
        share = min(max(target, amount.minor - money_left, 0), amount.minor, value.minor - already)
        return Money(max(share, 0), self.currency)

    def _rebalance_points(self, refund: Refund | None) -> None:
        """Keep exactly the refunded share of the earned points reversed and of the
        redeemed points restored, charged to (or undone through) ``refund``."""
        move = self.points.rebalance(
            self.refunded,
            self.payment.captured,
            self.points_value_refunded,
            self.payment.points_value,
        )
        if refund is None:
            return
        if move.reversed:
            refund.points_reversed += move.reversed
            self.events.append(PointsReversed(self.id, refund.id, move.reversed))
        if move.restored:
            refund.points_restored += move.restored
            self.events.append(PointsRestored(self.id, refund.id, move.restored))

    def _cancel_refunded_links(self, refund: Refund, reason: str, now: datetime) -> None:
        """Refunded gift-card link units cancel that many links that could still be
        cancelled, so a link whose value was given back can never be opened or spent."""
        for refund_line in refund.breakdown.lines:
            line = self.line(refund_line.order_line_id)
            if line.kind is LineKind.GIFT_CARD_LINK:
                for link in self.refundable_links(line, now)[: refund_line.quantity]:
                    link.cancel(reason, now)

    def _refund_moved(self, refund: Refund, previous: RefundStatus) -> None:
        self.events.append(RefundStatusChanged(self.id, refund.id, previous, refund.status))

    def status_from_ledger(self) -> OrderStatus:
        refunded = self.refunded
        if refunded.minor == 0:
            return OrderStatus.PAID
        if refunded >= self.payment.captured:
            return OrderStatus.FULLY_REFUNDED
        return OrderStatus.PARTIALLY_REFUNDED

    def _move_to(self, target: OrderStatus, now: datetime) -> None:
        if target is not self.status:
            if not can_transition(self.status, target):
                raise IllegalTransition(
                    f"order {self.id} cannot go from {self.status} to {target}",
                    current=self.status.value,
                    target=target.value,
                )
            self.status = target
        self._touch(now)

    def _touch(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now


__all__ = [
    "AuthorizationState",
    "Cancellation",
    "CaptureMode",
    "Customer",
    "LineKind",
    "Order",
    "OrderLine",
    "Payment",
    "PaymentMethod",
    "RefundStatus",
    "Shipping",
]
