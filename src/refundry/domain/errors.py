"""Typed domain errors. Each has a stable ``code`` that the API shows as its problem ``type``.

The hierarchy, so callers can catch at any level::

    RefundryError
    ├── InvalidInput                  bad values in an otherwise well-formed request
    │   ├── InvalidAmount
    │   ├── UnknownCurrency
    │   ├── CurrencyMismatch
    │   ├── InvalidOrder
    │   ├── UnknownOrderLine
    │   ├── EmptyRefund
    │   ├── PrivateWebhookUrl         a webhook URL naming this machine or a private network
    │   ├── InvalidCancelLabels       a merchant's cancellation status labels that cannot be kept
    │   ├── UnknownCancelLabel        a cancel's status that is neither cancelled nor the merchant's
    │   ├── StoreCreditInsufficient   spending or taking more store credit than is available
    │   └── StoreCreditNotAllowed     store credit where it cannot go (a float-paid order)
    ├── NotFound
    │   ├── OrderNotFound             also what another merchant's order looks like
    │   └── RefundNotFound, ItemNotFound, LinkNotFound, ApprovalNotFound, InvoiceNotFound,
    │       WebhookEndpointNotFound, WebhookEventNotFound, PointsProgramNotFound
    ├── Unauthenticated               missing or unknown API key
    │   └── InvalidCredentials        a dashboard login that does not match
    ├── Forbidden                     a dashboard user without the permission
    │   └── RefundNeedsApproval       a staff refund above the member's limit
    ├── Conflict                      the request is valid but the order's state forbids it
    │   ├── IllegalTransition
    │   ├── OrderNotCancellable
    │   │   ├── OrderAlreadyCancelled
    │   │   ├── OrderAlreadyRefunded
    │   │   └── OrderFulfilled
    │   ├── OrderNotRefundable
    │   ├── OrderNotCapturable
    │   ├── OrderNotFulfillable
    │   ├── RefundExceedsRefundable
    │   ├── RefundQuantityExceeded
    │   ├── FulfilmentExceedsOpen
    │   ├── QuoteStale
    │   ├── RefundAwaitingApproval    a staff refund of an order whose last one waits for an admin
    │   ├── DuplicateExternalId
    │   ├── IdempotencyKeyInUse       a concurrent request holds the same key
    │   ├── LinkUnusable              a gift-card link's state forbids the action
    │   │   └── LinkAccessed, LinkExpired, LinkSpent, LinkAlreadyCancelled
    │   ├── ItemNotCancellable
    │   ├── FloatInsufficient
    │   ├── FloatNotOpen
    │   ├── InsufficientPoints
    │   └── OrderNotAutoRefundable
    ├── QuoteError
    │   ├── QuoteExpired
    │   ├── QuoteInvalid
    │   └── QuoteMismatch
    └── ProviderError                 a payment provider could not do what was asked
        ├── ProviderUnavailable       worth retrying: timeout, 5xx, refused connection
        ├── ProviderRejected          the provider said no for good (decline, bad request)
        └── ProviderEventInvalid      an inbound provider event failed its signature check
    DatabaseUnavailable (Exception)   nothing refused: the database did not answer; retry
    IdempotencyKeyReused (InvalidInput) same key sent with a different request
"""

from __future__ import annotations

from typing import Any


class RefundryError(Exception):
    code = "refundry-error"
    title = "Refundry error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class InvalidInput(RefundryError):
    code = "invalid-input"
    title = "Invalid input"


class InvalidAmount(InvalidInput):
    code = "invalid-amount"
    title = "Invalid amount"


class UnknownCurrency(InvalidInput):
    code = "unknown-currency"
    title = "Unknown currency"

    def __init__(self, currency_code: str) -> None:
        super().__init__(f"{currency_code!r} is not an ISO-4217 currency code Refundry knows")


class CurrencyMismatch(InvalidInput):
    code = "currency-mismatch"
    title = "Currencies do not match"

    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"cannot combine {left} with {right}")


class InvalidOrder(InvalidInput):
    code = "invalid-order"
    title = "Invalid order"


class UnknownOrderLine(InvalidInput):
    code = "unknown-order-line"
    title = "Unknown order line"


class EmptyRefund(InvalidInput):
    code = "refund-empty"
    title = "Refund is empty"


class PrivateWebhookUrl(InvalidInput):
    code = "webhook-url-private"
    title = "Webhook URL points at a private network"


class InvalidCancelLabels(InvalidInput):
    code = "invalid-cancel-labels"
    title = "Invalid cancellation status labels"


class UnknownCancelLabel(InvalidInput):
    code = "unknown-cancel-label"
    title = "Not one of the merchant's cancellation statuses"


class StoreCreditInsufficient(InvalidInput):
    code = "store-credit-insufficient"
    title = "The customer has too little store credit"


class StoreCreditNotAllowed(InvalidInput):
    code = "store-credit-not-allowed"
    title = "Store credit cannot be used here"


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency-key-reused"
    title = "Idempotency key reused with a different request"


class NotFound(RefundryError):
    code = "not-found"
    title = "Not found"


class OrderNotFound(NotFound):
    code = "order-not-found"
    title = "Order not found"


class RefundNotFound(NotFound):
    code = "refund-not-found"
    title = "Refund not found"


class ItemNotFound(NotFound):
    code = "item-not-found"
    title = "Order item not found"


class LinkNotFound(NotFound):
    code = "link-not-found"
    title = "Gift-card link not found"


class ApprovalNotFound(NotFound):
    code = "approval-not-found"
    title = "No such refund waiting for approval"


class InvoiceNotFound(NotFound):
    code = "invoice-not-found"
    title = "Invoice not found"


class WebhookEndpointNotFound(NotFound):
    code = "webhook-endpoint-not-found"
    title = "Webhook endpoint not found"


class WebhookEventNotFound(NotFound):
    code = "event-not-found"
    title = "Event not found"


class PointsProgramNotFound(NotFound):
    code = "points-program-not-found"
    title = "No points program"


class Unauthenticated(RefundryError):
    code = "unauthenticated"
    title = "Missing or invalid API key"


class InvalidCredentials(Unauthenticated):
    code = "invalid-credentials"
    title = "Wrong email or password"


class SignInLocked(RefundryError):
    """Too many failed sign-ins in a row for this email: every attempt is refused, right
    password or not, until ``retry_after`` seconds have passed."""

    code = "sign-in-locked"
    title = "Too many failed sign-ins"


class Forbidden(RefundryError):
    code = "forbidden"
    title = "Not allowed"


class RefundNeedsApproval(Forbidden):
    code = "refund-needs-approval"
    title = "Above the refund limit"


class Conflict(RefundryError):
    code = "conflict"
    title = "Conflict with the order's state"


class IllegalTransition(Conflict):
    code = "illegal-transition"
    title = "Illegal order status transition"


class OrderNotCancellable(Conflict):
    code = "order-not-cancellable"
    title = "Order cannot be cancelled"


class OrderAlreadyCancelled(OrderNotCancellable):
    code = "order-already-cancelled"
    title = "Order is already cancelled"


class OrderAlreadyRefunded(OrderNotCancellable):
    code = "order-already-refunded"
    title = "Order is already refunded"


class OrderFulfilled(OrderNotCancellable):
    code = "order-fulfilled"
    title = "Order has fulfilled items: create a return for them instead"


class OrderNotRefundable(Conflict):
    code = "order-not-refundable"
    title = "Order cannot be refunded"


class OrderNotCapturable(Conflict):
    code = "order-not-capturable"
    title = "Order cannot be captured"


class OrderNotFulfillable(Conflict):
    code = "order-not-fulfillable"
    title = "Order cannot be fulfilled"


class RefundExceedsRefundable(Conflict):
    code = "refund-exceeds-refundable"
    title = "Refund exceeds the refundable amount"


class RefundQuantityExceeded(Conflict):
    code = "refund-quantity-exceeded"
    title = "Refund quantity exceeds what is left to refund"


class FulfilmentExceedsOpen(Conflict):
    code = "fulfilment-exceeds-open"
    title = "Fulfilment quantity exceeds the open quantity"


class QuoteStale(Conflict):
    code = "quote-stale"
    title = "The order changed since the refund was previewed"


class RefundAwaitingApproval(Conflict):
    code = "refund-awaiting-approval"
    title = "A refund of this order already waits for an admin's approval"


class DuplicateExternalId(Conflict):
    code = "duplicate-external-id"
    title = "An order with this external id already exists"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency-key-in-use"
    title = "A request with this idempotency key is still in progress"


class LinkUnusable(Conflict):
    code = "link-unusable"
    title = "The gift-card link's state forbids this"


class LinkAccessed(LinkUnusable):
    code = "link-accessed"
    title = "The consumer has already opened the gift-card link"


class LinkExpired(LinkUnusable):
    code = "link-expired"
    title = "The gift-card link has expired"


class LinkSpent(LinkUnusable):
    code = "link-spent"
    title = "The gift-card link's value has been spent"


class LinkAlreadyCancelled(LinkUnusable):
    code = "link-cancelled"
    title = "The gift-card link is cancelled"


class ItemNotCancellable(Conflict):
    code = "item-not-cancellable"
    title = "The order item cannot be cancelled"


class FloatInsufficient(Conflict):
    code = "float-insufficient"
    title = "The merchant's float does not cover the order"


class FloatNotOpen(Conflict):
    code = "float-not-open"
    title = "The merchant has no float account yet"


class InsufficientPoints(Conflict):
    code = "insufficient-points"
    title = "The customer has too few points"


class OrderNotAutoRefundable(Conflict):
    code = "order-not-auto-refundable"
    title = "Only a settled redeem order can be reversed automatically"


class QuoteError(RefundryError):
    code = "quote-error"
    title = "Refund quote cannot be used"


class QuoteExpired(QuoteError):
    code = "quote-expired"
    title = "Refund quote expired"


class QuoteInvalid(QuoteError):
    code = "quote-invalid"
    title = "Refund quote is not valid"


class QuoteMismatch(QuoteError):
    code = "quote-mismatch"
    title = "Refund request differs from the previewed one"


class ProviderError(RefundryError):
    code = "provider-error"
    title = "The payment provider could not do what was asked"


class ProviderUnavailable(ProviderError):
    code = "provider-unavailable"
    title = "The payment provider did not answer; try again later"


class ProviderRejected(ProviderError):
    code = "provider-rejected"
    title = "The payment provider refused the request"


class ProviderEventInvalid(ProviderError):
    code = "provider-event-invalid"
    title = "The provider event is not signed correctly"


class DatabaseUnavailable(Exception):  # not a RefundryError: no request was refused
    code = "database-unavailable"
    title = "The database is unavailable; try again later"
