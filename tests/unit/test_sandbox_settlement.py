"""The sandbox gateway settles each refund once, whether a read or its time comes first,
and hands each settled refund to the event dispatcher exactly once."""

from __future__ import annotations

from refundry.sandbox_psp.gateway import Gateway


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def refund(gateway: Gateway, amount: int = 700) -> str:
    made = gateway.handle("POST", "/v1/refunds", {"amount": amount, "currency": "eur"}, None)
    refund_id: str = made["id"]
    return refund_id


def test_a_refund_read_after_its_time_settles_and_is_handed_over_once() -> None:
    # given a refund due in two seconds
    clock = Clock()
    gateway = Gateway(clock=clock)
    gateway.faults.settle_seconds = 2
    refund_id = refund(gateway)
    assert gateway.next_settle_at() == 1_002.0
    clock.now += 1
    gateway.settle_due()
    assert gateway.take_settled() == []  # not yet
    # when it is read after its time, before the dispatcher came round
    clock.now += 1
    read = gateway.handle("GET", f"/v1/refunds/{refund_id}", {}, None)
    assert read["status"] == "succeeded"
    # then the dispatcher gets it once, and settling again or reading again adds nothing
    gateway.settle_due()
    [settled] = gateway.take_settled()
    assert (settled["id"], settled["status"]) == (refund_id, "succeeded")
    gateway.handle("GET", f"/v1/refunds/{refund_id}", {}, None)
    gateway.settle_due()
    gateway.snapshot()
    assert gateway.take_settled() == []
    assert gateway.next_settle_at() is None
    assert gateway.snapshot()["refund_reads"] == {refund_id: 2}


def test_the_dispatcher_is_woken_when_a_refund_is_made_and_when_it_settles() -> None:
    clock = Clock()
    wakes: list[float] = []
    gateway = Gateway(clock=clock, on_change=lambda: wakes.append(clock.now))
    gateway.faults.settle_seconds = 5
    first, second = refund(gateway), refund(gateway)
    assert len(wakes) == 2  # made: the next settle time may have moved
    clock.now += 5
    gateway.settle_due()
    assert len(wakes) == 4  # settled: there is something to announce
    assert {body["id"] for body in gateway.take_settled()} == {first, second}


def test_a_failing_refund_is_handed_over_failed_and_gives_the_payment_back() -> None:
    clock = Clock()
    gateway = Gateway(clock=clock)
    gateway.faults.settle_seconds = 0
    gateway.faults.fail_refunds = 1
    intent = gateway.handle("POST", "/v1/payment_intents", {"amount": 900, "currency": "eur"}, None)
    gateway.handle("POST", "/v1/refunds", {"payment_intent": intent["id"]}, None)
    gateway.settle_due()
    [settled] = gateway.take_settled()
    assert (settled["status"], settled["failure_reason"]) == ("failed", "declined")
    assert gateway.payment_intents[intent["id"]]["amount_refunded"] == 0
