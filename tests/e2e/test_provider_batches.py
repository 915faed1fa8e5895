"""Provider work in batches against the sandbox gateway as a real process (issue 20): two
workers side by side, each calling the gateway many at a time, pay each refund once. The
first test runs through PgBouncer in transaction mode too (issue 23): leases taken with
``SKIP LOCKED`` and the same statements round after round, over 4 server connections."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from refundry.bootstrap import Container
from refundry.services.handlers import provider_work
from refundry.services.handlers.provider_work import OutboxPolicy, ProviderWork
from tests.conftest import WITH_PGBOUNCER, Api
from tests.e2e.test_provider_refunds import (
    ingest,
    own_api,  # noqa: F401 -- a fixture
    own_psp,  # noqa: F401 -- a fixture
    psp_state,
    refund,
    statuses,
)

REFUNDS = 24


@pytest.mark.parametrize("container", WITH_PGBOUNCER, indirect=True)
def test_two_batching_workers_pay_each_refund_once_and_settle_them_all(
    own_api: Api,  # noqa: F811 -- the fixture
    own_psp: tuple[str, Container],  # noqa: F811
) -> None:
    # given a gateway that takes 100 ms a call, and 24 refunds waiting for it
    base, wired = own_psp
    own_api.settle()  # what earlier tests left in this database
    earlier = set(psp_state(base)["refund_requests"])
    httpx.post(f"{base}/_sandbox/faults", json={"latency_ms": 100})
    made = [
        refund(own_api, ingest(own_api)["id"], {"amount": 100 + number})
        for number in range(REFUNDS)
    ]
    # when two workers take batches of 8, calling up to 8 at a time, until all is done
    policy = OutboxPolicy(
        batch_size=8,
        concurrency=8,
        poll_base=timedelta(0),
        poll_ceiling=timedelta(0),
        retry_base=timedelta(0),
        retry_ceiling=timedelta(0),
    )
    handled: list[int] = []

    def worker() -> None:
        work = ProviderWork(wired.uow_factory, wired.provider_work.providers, policy)
        for _ in range(40):
            count = provider_work.process_outbox(work)
            handled.append(count)
            if count == 0:
                return
        work.calls.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then every refund went through every status
    for made_refund in made:
        assert statuses(own_api, made_refund["id"]) == ["started", "processing", "completed"]
    # the gateway was asked for each refund once (the refund id is the idempotency key)
    state = psp_state(base)
    requests = {key: count for key, count in state["refund_requests"].items() if key not in earlier}
    assert sorted(requests) == sorted(made_refund["id"] for made_refund in made)
    assert set(requests.values()) == {1}
    ours = {made_refund["provider_reference"] for made_refund in _refunds(own_api, made)}
    assert sorted(refund["amount"] for refund in state["refunds"] if refund["id"] in ours) == [
        100 + number for number in range(REFUNDS)
    ]
    # and the work went in full batches: a send and a poll per refund, 8 at a time
    assert sum(handled) == 2 * REFUNDS
    assert max(handled) == 8


def _refunds(api: Api, made: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [api.client.get(f"/v1/refunds/{each['id']}").json() for each in made]


def test_orders_are_read_for_a_batch_by_merchant_and_order(
    own_api: Api,  # noqa: F811 -- the fixture
    own_psp: tuple[str, Container],  # noqa: F811
) -> None:
    # A message names its merchant and order: an order id under another merchant is not
    # found, so a batch never applies an outcome to another merchant's order.
    _, wired = own_psp
    order_id = uuid.UUID(ingest(own_api)["id"])
    merchant_id = own_api.merchant.merchant.id
    with wired.uow_factory() as uow:
        mine = uow.orders.get_many([(merchant_id, order_id), (merchant_id, uuid.uuid4())])
        theirs = uow.orders.get_many([(uuid.uuid4(), order_id)])
    assert list(mine) == [order_id]
    assert mine[order_id].merchant_id == merchant_id
    assert theirs == {}


def test_refunds_on_their_way_are_followed_before_a_backlog_of_new_sends(
    own_api: Api,  # noqa: F811 -- the fixture
    own_psp: tuple[str, Container],  # noqa: F811
) -> None:
    # given eight refunds queued, of which the worker sent the oldest three: their polls
    # are due now, after the five others were queued
    _, wired = own_psp
    policy = OutboxPolicy(batch_size=3, poll_base=timedelta(0), poll_ceiling=timedelta(0))
    work = ProviderWork(wired.uow_factory, wired.provider_work.providers, policy)
    own_api.settle()  # what earlier tests left in this database
    sent = [refund(own_api, ingest(own_api)["id"], {"amount": 100}) for _ in range(3)]
    backlog = [refund(own_api, ingest(own_api)["id"], {"amount": 100}) for _ in range(5)]
    assert provider_work.process_outbox(work) == 3
    for made in sent:
        assert statuses(own_api, made["id"]) == ["started", "processing"]
    # when the worker takes its next batch
    assert provider_work.process_outbox(work) == 3
    # then it followed the three on their way (they completed), before any new send
    for made in sent:
        assert statuses(own_api, made["id"]) == ["started", "processing", "completed"]
    for made in backlog:
        assert statuses(own_api, made["id"]) == ["started"]
    work.calls.close()
