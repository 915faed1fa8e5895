"""Which payment provider handles an order: chosen by the way the customer paid."""

from __future__ import annotations

from collections.abc import Mapping

from refundry.domain.errors import ProviderUnavailable
from refundry.domain.order import Order, PaymentMethod
from refundry.domain.payments import PaymentProvider

# Money paid this way never leaves through a provider: the float is credited at the
# invoice close and "other" is returned outside Refundry. Points are Refundry's own
# ledger: a refund gives them back in the same transaction and settles here.
SETTLED_BY_REFUNDRY = frozenset(
    {PaymentMethod.FLOAT, PaymentMethod.OTHER, PaymentMethod.POINTS, PaymentMethod.STORE_CREDIT}
)


class ProviderRegistry:
    def __init__(self, by_method: Mapping[PaymentMethod, PaymentProvider]) -> None:
        self._by_method = dict(by_method)

    def for_order(self, order: Order) -> PaymentProvider | None:
        """The provider that moves this order's money; ``None`` when Refundry settles it.

        A method that needs a provider and has none configured is worth retrying (an
        operator can add the configuration), never a reason to call the refund done.
        """
        method = order.payment.method
        if method in SETTLED_BY_REFUNDRY:
            return None
        provider = self._by_method.get(method)
        if provider is None:
            raise ProviderUnavailable(f"no payment provider is configured for {method} payments")
        return provider

    def names(self) -> dict[str, str]:
        """The name of the provider each payment method goes to."""
        return {method.value: provider.name for method, provider in self._by_method.items()}
