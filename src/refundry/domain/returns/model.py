"""A return: fulfilled units coming back from the customer, from request to close.

Statuses (``RETURN_TRANSITIONS`` is the table):

- ``requested``: the customer asked; a person must approve or decline it.
- ``open``: approved (or created by staff as approved); the units are on their way.
- ``partially_received``: some of the units arrived.
- ``received``: every unit listed arrived.
- ``closed``: refunded (or exchanged) for what arrived; ends the return, unless the
  provider refuses its refund: the goods are back and the money is still owed, so it is
  received again, to be refunded anew.
- ``declined``: refused, with a reason; ends it.
- ``cancelled``: withdrawn before anything arrived or was refunded; ends it.

While a return is active (not ended) its units are held: they can be neither refunded by
line nor put in another return, so units returned, refunded and cancelled never exceed
units sold. Closing releases the units that never arrived; the ones that did are then
counted by the refund.

Receiving records per line how many units came back ``resellable`` (they go back on the
shelf at that moment) and how many ``damaged`` (they do not). Every change is kept in
``history`` with its time, actor and reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from refundry.domain.errors import IllegalTransition, InvalidInput
from refundry.domain.money import Money
from refundry.domain.returns.errors import NothingReceived, ReceiptExceedsReturn, ReturnNotOpen


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    OPEN = "open"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


_S = ReturnStatus

RETURN_TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    _S.REQUESTED: frozenset({_S.OPEN, _S.DECLINED}),
    _S.OPEN: frozenset({_S.PARTIALLY_RECEIVED, _S.RECEIVED, _S.CANCELLED}),
    _S.PARTIALLY_RECEIVED: frozenset({_S.PARTIALLY_RECEIVED, _S.RECEIVED, _S.CLOSED}),
    _S.RECEIVED: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset({_S.RECEIVED}),  # its refund failed
    _S.DECLINED: frozenset(),
    _S.CANCELLED: frozenset(),
}

# Statuses in which a return holds its units.
ACTIVE_RETURN_STATUSES = frozenset({_S.REQUESTED, _S.OPEN, _S.PARTIALLY_RECEIVED, _S.RECEIVED})

# A restocking fee is a percentage with two decimals, kept in basis points (1% = 100).
BASIS_POINTS_PER_WHOLE = 10_000


class AfterSales(StrEnum):
    """What a list of after-sales records holds: seed 001's Sales > Returns shows returns
    and the refunds cancellations made ("you can find later in the Sales > Returns")."""

    RETURNS = "return"
    CANCELLATIONS = "cancellation"
    BOTH = "all"


@dataclass(frozen=True, slots=True)
class ReturnStatusChange:
    status: ReturnStatus
    at: datetime
    actor: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ReceivedUnits:
    """Units of one return line that arrived: ``resellable`` ones go back on the shelf."""

    order_line_id: uuid.UUID
    resellable: int
    damaged: int


@dataclass(slots=True)
class ReturnLine:
    order_line_id: uuid.UUID
    quantity: int
    reason: str | None = None
    # This line's restocking fee, in basis points, when it differs from the return's.
    restocking_fee_bp: int | None = None
    resellable: int = 0
    damaged: int = 0

    @property
    def received(self) -> int:
        return self.resellable + self.damaged


@dataclass(slots=True)
class OrderReturn:
    id: uuid.UUID
    order_id: uuid.UUID
    status: ReturnStatus
    lines: list[ReturnLine]
    restocking_fee_bp: int  # the return's restocking fee, in basis points of the units' value
    return_shipping_fee: Money  # a flat amount kept for the return's shipping
    note: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    history: list[ReturnStatusChange] = field(default_factory=list)
    refund_id: uuid.UUID | None = None  # the refund that closed it
    exchange_order_id: uuid.UUID | None = None  # the replacement order, for an exchange

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RETURN_STATUSES

    @property
    def received_units(self) -> int:
        return sum(line.received for line in self.lines)

    def line_for(self, order_line_id: uuid.UUID) -> ReturnLine:
        for line in self.lines:
            if line.order_line_id == order_line_id:
                return line
        raise InvalidInput(
            f"return {self.id} lists no line {order_line_id}", line_id=str(order_line_id)
        )

    def units_held(self, order_line_id: uuid.UUID) -> int:
        """Units of the order line this return keeps from refunds and other returns."""
        if not self.is_active:
            return 0
        return sum(line.quantity for line in self.lines if line.order_line_id == order_line_id)

    def fee_bp(self, line: ReturnLine) -> int:
        return self.restocking_fee_bp if line.restocking_fee_bp is None else line.restocking_fee_bp

    # ---------------------------------------------------------------- commands
    def approve(self, actor: str, now: datetime) -> None:
        self._move_to(ReturnStatus.OPEN, now, actor, "approved")

    def decline(self, reason: str, actor: str, now: datetime) -> None:
        if not reason.strip():
            raise InvalidInput("say why the return is declined: the customer will be told")
        self._move_to(ReturnStatus.DECLINED, now, actor, reason.strip())

    def cancel(self, reason: str | None, actor: str, now: datetime) -> None:
        if self.received_units:
            raise ReturnNotOpen(
                f"return {self.id} has received units; refund it for what arrived instead",
                return_status=self.status.value,
            )
        self._move_to(ReturnStatus.CANCELLED, now, actor, reason or "cancelled")

    def receive(self, units: Mapping[uuid.UUID, ReceivedUnits], actor: str, now: datetime) -> None:
        """Record units that arrived; all lines checked before any changes."""
        if self.status not in (ReturnStatus.OPEN, ReturnStatus.PARTIALLY_RECEIVED):
            raise ReturnNotOpen(
                f"return {self.id} is {self.status}; only an open return receives units",
                return_status=self.status.value,
            )
        if not units or all(u.resellable + u.damaged == 0 for u in units.values()):
            raise InvalidInput("name at least one unit received")
        for line_id, arrived in units.items():
            line = self.line_for(line_id)
            if arrived.resellable < 0 or arrived.damaged < 0:
                raise InvalidInput("received units cannot be negative", line_id=str(line_id))
            if line.received + arrived.resellable + arrived.damaged > line.quantity:
                raise ReceiptExceedsReturn(
                    f"line {line_id}: {line.quantity - line.received} unit(s) still expected, "
                    f"not {arrived.resellable + arrived.damaged}",
                    line_id=str(line_id),
                    expected=line.quantity - line.received,
                )
        for line_id, arrived in units.items():
            line = self.line_for(line_id)
            line.resellable += arrived.resellable
            line.damaged += arrived.damaged
        complete = all(line.received == line.quantity for line in self.lines)
        target = ReturnStatus.RECEIVED if complete else ReturnStatus.PARTIALLY_RECEIVED
        detail = ", ".join(
            f"{u.resellable} resellable and {u.damaged} damaged of line {line_id}"
            for line_id, u in units.items()
            if u.resellable + u.damaged
        )
        self._move_to(target, now, actor, f"received {detail}")

    def check_refundable(self) -> None:
        if self.status not in (ReturnStatus.PARTIALLY_RECEIVED, ReturnStatus.RECEIVED):
            if self.status in (ReturnStatus.REQUESTED, ReturnStatus.OPEN):
                raise NothingReceived(
                    f"return {self.id} is {self.status}: receive its units before refunding",
                    return_status=self.status.value,
                )
            raise ReturnNotOpen(
                f"return {self.id} is {self.status}; it cannot be refunded",
                return_status=self.status.value,
            )

    def close(
        self,
        *,
        actor: str,
        now: datetime,
        refund_id: uuid.UUID | None = None,
        exchange_order_id: uuid.UUID | None = None,
    ) -> None:
        """Refunded or exchanged for what arrived. Units that never came are released: the
        return lists what arrived from now on (its history says how many were released), so
        a return reopened after a failed refund holds only those."""
        self.check_refundable()
        released = sum(line.quantity - line.received for line in self.lines)
        for line in self.lines:
            line.quantity = line.received
        self.refund_id = refund_id
        self.exchange_order_id = exchange_order_id
        detail = "exchanged" if exchange_order_id is not None else "refunded"
        if released:
            detail += f"; {released} unit(s) never received released"
        self._move_to(ReturnStatus.CLOSED, now, actor, detail)

    def reopen(self, detail: str, now: datetime) -> None:
        """Its refund failed: back to received (it lists only what arrived), to be refunded
        again; nothing more is expected."""
        self.refund_id = None
        self._move_to(ReturnStatus.RECEIVED, now, "system", detail)

    def _move_to(self, target: ReturnStatus, now: datetime, actor: str, detail: str) -> None:
        if target not in RETURN_TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"return {self.id} is {self.status}; it cannot become {target}",
                current=self.status.value,
                target=target.value,
            )
        self.status = target
        self.updated_at = now
        self.history.append(ReturnStatusChange(target, now, actor, detail))
