"""The float invariant on a real database, for any sequence of merchant actions.

balance == top-ups - charges + applied credits, after every step; a cancelled
item's credit is pending until a close and applied exactly once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refundry.bootstrap import Container
from refundry.domain.errors import FloatInsufficient, ItemNotCancellable, LinkUnusable
from refundry.domain.merchant_float import InvoiceCycle
from refundry.domain.order import Customer, LineKind, NewLine, PaymentMethod
from refundry.services import transactions
from refundry.services.handlers import cancellation, merchant_float, orders
from refundry.services.handlers.merchants import create_merchant

steps = st.lists(
    st.one_of(
        st.tuples(st.just("top_up"), st.integers(1, 20_000)),
        st.tuples(st.just("order"), st.integers(1, 4)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("open"), st.integers(0, 30)),
        st.tuples(st.just("close"), st.integers(1, 3)),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=steps)
def test_float_balance_is_the_ledger_at_every_step(
    container: Container, actions: list[tuple[str, int]]
) -> None:
    run = container.uow_factory
    merchant = transactions.run(run, lambda uow: create_merchant(uow, "Float"))
    merchant_id = merchant.merchant.id
    transactions.run(
        run, lambda uow: merchant_float.open_float(uow, merchant_id, "EUR", InvoiceCycle.DAILY)
    )
    clock = datetime.now(UTC)
    top_ups = charges = applied = 0
    links: list[tuple[uuid.UUID, uuid.UUID, str]] = []  # (order id, link id, token)
    cancelled: set[uuid.UUID] = set()
    for action, amount in actions:
        if action == "top_up":
            transactions.run(run, lambda uow: merchant_float.top_up_float(uow, merchant_id, amount))
            top_ups += amount
        elif action == "order":
            command = orders.PlaceOrder(
                merchant_id=merchant_id,
                external_id=None,
                customer=Customer("p@example.com"),
                currency_code="EUR",
                lines=[NewLine("G", "G", LineKind.GIFT_CARD_LINK, amount, 2500, 0, 0)],
                payment_method=PaymentMethod.FLOAT,
            )
            try:
                order = transactions.run(run, lambda uow: orders.ingest_order(uow, command))
            except FloatInsufficient:
                pass
            else:
                charges += 2500 * amount
                links += [(order.id, link.id, link.token) for link in order.links]
        elif action in ("cancel", "open") and links:
            order_id, link_id, token = links[amount % len(links)]
            try:
                if action == "cancel":
                    transactions.run(
                        run,
                        lambda uow: cancellation.cancel_item(
                            uow, merchant_id, order_id, link_id, reason=None, actor="prop"
                        ),
                    )
                    cancelled.add(link_id)
                else:
                    transactions.run(run, lambda uow: orders.open_link(uow, token))
            except (LinkUnusable, ItemNotCancellable):
                pass
        elif action == "close":
            clock += timedelta(days=amount)
            closed = transactions.run(
                run, lambda uow: merchant_float.close_due_cycles(uow, merchant_id, clock)
            )
            applied += sum(invoice.credits.minor for invoice in closed)
        summary = transactions.read(run, lambda uow: merchant_float.float_summary(uow, merchant_id))
        assert summary.account.balance.minor == top_ups - charges + applied
        assert summary.account.balance.minor >= 0
        # every cancelled link's cost is either pending or applied, never both, never twice
        assert summary.pending_total.minor + applied == 2500 * len(cancelled)
