"""Running a use case in one transaction, with or without an Idempotency-Key.

Use cases are functions ``(uow) -> result`` that read and change state through the
unit of work and never commit. ``run`` and ``run_idempotently`` are the one place
where their transaction commits, through the message bus (``messagebus.commit``), so
the handlers of the events the change recorded write their rows in it too.

An idempotent run claims the key in the same transaction as the change and stores
the response there too: the key, the change and the stored response commit
together or not at all. A request that fails with an error leaves no key behind,
so the client may retry it as it is (it changed nothing).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from refundry.domain.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from refundry.services import messagebus
from refundry.services.clock import utcnow
from refundry.services.json_text import dump_json
from refundry.services.ports.read_model import ReadModel, ReadModelFactory
from refundry.services.ports.repositories import StoredResponse
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")
JsonBody = dict[str, Any]


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    merchant_id: uuid.UUID
    key: str
    fingerprint: str

    @classmethod
    def for_request(
        cls, merchant_id: uuid.UUID, key: str, method: str, path: str, body: Any
    ) -> IdempotencyKey:
        canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
        return cls(merchant_id, key, hashlib.sha256(canonical.encode()).hexdigest())


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int
    body: str  # JSON text, exactly as first sent
    replayed: bool


def run(uow_factory: UnitOfWorkFactory, use_case: Callable[[UnitOfWork], T]) -> T:
    with uow_factory() as uow:
        result = use_case(uow)
        messagebus.commit(uow)
    return result


def read(uow_factory: UnitOfWorkFactory, query: Callable[[UnitOfWork], T]) -> T:
    with uow_factory(write=False) as uow:
        return query(uow)


def query(read_models: ReadModelFactory, view: Callable[[ReadModel], T]) -> T:
    """A read-only view (a report, a check) in one read transaction of the read side."""
    with read_models() as read_model:
        return view(read_model)


def run_idempotently(
    uow_factory: UnitOfWorkFactory,
    key: IdempotencyKey | None,
    use_case: Callable[[UnitOfWork], T],
    present: Callable[[T], JsonBody],
    status_code: int,
) -> Outcome:
    """Run ``use_case`` once per key; the same key and request replays the first response."""
    if key is None:
        with uow_factory() as uow:
            body = dump_json(present(use_case(uow)))
            messagebus.commit(uow)
        return Outcome(status_code, body, replayed=False)
    # Two rounds at most: a concurrent holder of the key makes the first claim fail,
    # and by then it has committed, so the second round finds its response.
    for _ in range(2):
        try:
            return _run_once(uow_factory, key, use_case, present, status_code)
        except IdempotencyKeyInUse:
            continue
    raise IdempotencyKeyInUse("another request with this Idempotency-Key is in progress")


def run_repeatable_once(
    uow_factory: UnitOfWorkFactory,
    key: IdempotencyKey | None,
    work: Callable[[], T],
    present: Callable[[T], JsonBody],
    status_code: int,
) -> Outcome:
    """Like ``run_idempotently``, for work that commits several transactions of its own
    and is safe to repeat (a reconciliation run): a key already answered replays its
    response without running the work again. Two requests racing with one new key may
    both run it; the second changes nothing, and both get the first's response."""
    if key is not None:
        with uow_factory(write=False) as uow:
            stored = uow.idempotency.find(key.merchant_id, key.key)
        if stored is not None:
            _check_same_request(stored, key)
            if stored.status_code is not None and stored.body is not None:
                return Outcome(stored.status_code, stored.body, replayed=True)
    result = work()
    return run_idempotently(uow_factory, key, lambda _uow: result, present, status_code)


def _run_once(
    uow_factory: UnitOfWorkFactory,
    key: IdempotencyKey,
    use_case: Callable[[UnitOfWork], T],
    present: Callable[[T], JsonBody],
    status_code: int,
) -> Outcome:
    with uow_factory() as uow:
        # Claim first, look only if that failed: a new key (the usual case) costs one
        # statement rather than a read, a savepoint, an insert and its release.
        if not uow.idempotency.claim(key.merchant_id, key.key, key.fingerprint, utcnow()):
            stored = uow.idempotency.find(key.merchant_id, key.key)
            if stored is None:  # its holder rolled back just now: try again
                raise IdempotencyKeyInUse("another request with this key is in progress")
            _check_same_request(stored, key)
            if stored.status_code is None or stored.body is None:
                raise IdempotencyKeyInUse("the first request with this key is still running")
            return Outcome(stored.status_code, stored.body, replayed=True)
        uow.idempotency_key = key.key
        body = dump_json(present(use_case(uow)))
        uow.idempotency.complete(key.merchant_id, key.key, status_code, body)
        messagebus.commit(uow)
    return Outcome(status_code, body, replayed=False)


def _check_same_request(stored: StoredResponse, key: IdempotencyKey) -> None:
    if stored.fingerprint != key.fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request; "
            "use a new key for a new request",
        )
