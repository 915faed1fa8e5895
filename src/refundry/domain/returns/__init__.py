"""Returns: shipped units coming back, received, and refunded or exchanged.

``model`` holds the return and its status table; ``fees`` the restocking and return-shipping
fees; ``errors`` its typed errors. The rules that bind a return to its order (which units
can come back, what a return gives back) are in ``domain/order/returns.py``.
"""

from refundry.domain.returns.errors import (
    ExchangeNotAllowed,
    NothingReceived,
    ReceiptExceedsReturn,
    ReturnFeeTooHigh,
    ReturnNotFound,
    ReturnNotOpen,
    ReturnQuantityExceeded,
)
from refundry.domain.returns.fees import basis_points, restocking_fee
from refundry.domain.returns.model import (
    ACTIVE_RETURN_STATUSES,
    BASIS_POINTS_PER_WHOLE,
    RETURN_TRANSITIONS,
    AfterSales,
    OrderReturn,
    ReceivedUnits,
    ReturnLine,
    ReturnStatus,
    ReturnStatusChange,
)

__all__ = [
    "ACTIVE_RETURN_STATUSES",
    "BASIS_POINTS_PER_WHOLE",
    "RETURN_TRANSITIONS",
    "AfterSales",
    "ExchangeNotAllowed",
    "NothingReceived",
    "OrderReturn",
    "ReceiptExceedsReturn",
    "ReceivedUnits",
    "ReturnFeeTooHigh",
    "ReturnLine",
    "ReturnNotFound",
    "ReturnNotOpen",
    "ReturnQuantityExceeded",
    "ReturnStatus",
    "ReturnStatusChange",
    "basis_points",
    "restocking_fee",
]
