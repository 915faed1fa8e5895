"""The errors of returns, typed like the rest of ``domain/errors.py`` (whose base classes
decide the HTTP status): kept here so the error module stays one screenful per concept."""

from __future__ import annotations

from refundry.domain.errors import Conflict, InvalidInput, NotFound


class ReturnNotFound(NotFound):
    code = "return-not-found"
    title = "Return not found"


class ReturnQuantityExceeded(Conflict):
    """More units than were shipped and are not yet refunded or in another return."""

    code = "return-quantity-exceeded"
    title = "Too many units to return"


class ReturnNotOpen(Conflict):
    """The return's status forbids the action (a closed, declined or cancelled return)."""

    code = "return-not-open"
    title = "The return's status forbids this"


class ReceiptExceedsReturn(Conflict):
    code = "receipt-exceeds-return"
    title = "More units received than the return lists"


class ReturnFeeTooHigh(InvalidInput):
    """Fees kept would be more than the returned units are worth."""

    code = "return-fee-too-high"
    title = "The return's fees exceed its value"


class NothingReceived(Conflict):
    code = "return-nothing-received"
    title = "No unit of the return has been received"


class ExchangeNotAllowed(InvalidInput):
    """The order's payment cannot carry a return's value to a replacement (the merchant's
    float, loyalty points)."""

    code = "exchange-not-allowed"
    title = "This return cannot be exchanged"
