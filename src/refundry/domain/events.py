"""What happened to an order that the world outside must hear about.

Events are tiny, past-tense facts the order records as it changes. The unit of work
writes them to the outbox in the same transaction as the change, and the worker acts
on them afterwards, so a crash between the commit and the call loses nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RefundRequested:
    """A refund to the original payment method must be sent to the order's provider."""

    order_id: uuid.UUID
    refund_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class AuthorizationVoidRequested:
    """A cancelled order's uncaptured authorization must be released at the provider."""

    order_id: uuid.UUID


DomainEvent = RefundRequested | AuthorizationVoidRequested
