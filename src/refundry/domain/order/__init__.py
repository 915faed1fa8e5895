"""The order aggregate, one concept per module; this is its public face.

- ``root``: the state (identity, fields, version, status and its transition, queries).
- ``order``: ``Order``, the root with the rules below bound as its methods.
- ``lines``: what it sells: lines and shipping.
- ``payment``: how it is paid; ``authorization``: authorize, capture and void.
- ``fulfilment``: shipping units.
- ``gift_cards``: the consumer's gift-card links.
- ``cancellation``: cancelling the order or one item, and what blocks it.
- ``refunds``: the refund ledger and its cap: refunds, external refunds, auto-refunds.
- ``stop_retries``: a stopped order's refused stop refund, made again as what it is.
- ``refund_outcomes``: the provider's answers about a refund (processing, completed, failed).
- ``refund_calculation``: the calculator behind "review refund" and the refund itself.
- ``points``: the order's share of loyalty points.
- ``returns``: shipped units coming back: which can, receiving them, refunding them.
- ``exchanges``: a return's value paying for a replacement order.
- ``store_credit``: the part of each refund given back as store credit.
- ``restock``: the one rule for stock an order's change moves (recorded as ``StockMoved``).
- ``placement``: building an order from what a checkout reports.

Other layers import from here, never from the modules.
"""

from refundry.domain.order.cancellation import (
    DEFAULT_CANCEL_LABEL,
    DEFAULT_CANCEL_REASON,
    DEFAULT_ITEM_CANCEL_REASON,
    Cancellation,
)
from refundry.domain.order.exchanges import EXCHANGE_DIFFERENCE_REASON, carried_value
from refundry.domain.order.lines import LineKind, OrderLine, Shipping
from refundry.domain.order.order import Order
from refundry.domain.order.payment import (
    AUTHORIZATION_VALIDITY,
    AuthorizationExpiryAction,
    AuthorizationState,
    CaptureMode,
    Payment,
    PaymentMethod,
)
from refundry.domain.order.placement import (
    MAX_ORDER_TOTAL_MINOR,
    NewLine,
    in_utc_range,
    new_order_total,
    place_order,
)
from refundry.domain.order.refund_calculation import (
    LineRefundRequest,
    LineRefundTotals,
    RefundRequest,
)
from refundry.domain.order.returns import ReturnLineRequest
from refundry.domain.order.root import Customer
from refundry.domain.order.stop_retries import (
    STOP_KINDS,
    failed_while_stopped,
    made_again,
    stopped_at,
)

__all__ = [
    "AUTHORIZATION_VALIDITY",
    "DEFAULT_CANCEL_LABEL",
    "DEFAULT_CANCEL_REASON",
    "DEFAULT_ITEM_CANCEL_REASON",
    "EXCHANGE_DIFFERENCE_REASON",
    "MAX_ORDER_TOTAL_MINOR",
    "STOP_KINDS",
    "AuthorizationExpiryAction",
    "AuthorizationState",
    "Cancellation",
    "CaptureMode",
    "Customer",
    "LineKind",
    "LineRefundRequest",
    "LineRefundTotals",
    "NewLine",
    "Order",
    "OrderLine",
    "Payment",
    "PaymentMethod",
    "RefundRequest",
    "ReturnLineRequest",
    "Shipping",
    "carried_value",
    "failed_while_stopped",
    "in_utc_range",
    "made_again",
    "new_order_total",
    "place_order",
    "stopped_at",
]
