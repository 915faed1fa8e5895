"""The one restock rule: which SKUs a change to an order moves on or off the shelf, and by
how many units.

Only stocked (physical) lines move stock, and a change moves a line's units one way:

- placing the order takes every unit off the shelf;
- units stopped without a refund (a cancel of what was not captured, or not covered by the
  cancellation refund) go back;
- a refund puts back its lines' ``restocked_quantity``: the units that never shipped, and
  shipped ones too when the refund asks to restock (``refund_calculation`` decides which);
- a refund that fails takes back off what it put back, so a second attempt with restock
  does not count the units twice; on an order that has ended (cancelled, auto-refunded) its
  units become cancelled instead and stay where they are.

Each command works its units out here, turns them into SKU moves with ``stock_moves`` and
records them once as a ``StockMoved`` event with ``record_stock_moved``; the message bus's
stock handler applies them in the same transaction. Nothing else moves stock for an order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from refundry.domain.events import StockMoved
from refundry.domain.order.root import OrderRoot
from refundry.domain.refund import Refund
from refundry.domain.status import TERMINAL_STATUSES

# Units of one order line that change place: positive back on the shelf, negative off it.
LineUnits = tuple[uuid.UUID, int]


def placed(order: OrderRoot) -> list[LineUnits]:
    """Placement: every ordered unit leaves the shelf."""
    return [(line.id, -line.quantity) for line in order.lines]


def stopped(units_by_line: Mapping[uuid.UUID, int]) -> list[LineUnits]:
    """Units cancelled without a refund carrying them: back on the shelf."""
    return list(units_by_line.items())


def restocked_by(refund: Refund) -> list[LineUnits]:
    """What a refund (a cancellation refund too) puts back on the shelf."""
    return [(line.order_line_id, line.restocked_quantity) for line in refund.breakdown.lines]


def undone_by_failure(order: OrderRoot, refund: Refund) -> list[LineUnits]:
    """What a failed refund takes back off the shelf. Decided before the order's status
    moves: an ended order keeps its units cancelled, on the shelf."""
    if order.status in TERMINAL_STATUSES:
        return []
    return [(line_id, -units) for line_id, units in restocked_by(refund)]


def stock_moves(order: OrderRoot, units: Iterable[LineUnits]) -> dict[str, int]:
    """SKU -> units, for the stocked lines among ``units``; a SKU on two lines moves once."""
    moves: dict[str, int] = {}
    for line_id, count in units:
        line = order.line(line_id)
        if line.is_stocked and count:
            moves[line.sku] = moves.get(line.sku, 0) + count
    return {sku: count for sku, count in moves.items() if count}


def record_stock_moved(order: OrderRoot, units: Iterable[LineUnits]) -> None:
    """Record the change's moves as one ``StockMoved`` (none when nothing moves). SKUs
    are sorted: whoever applies them locks stock rows in one order."""
    moves = stock_moves(order, units)
    if moves:
        order.events.append(StockMoved(order.id, tuple(sorted(moves.items()))))
