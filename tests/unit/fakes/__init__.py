"""In-memory repositories and a unit of work, so use cases run with no database.

In the manner of cosmicpython's ``FakeRepository`` and ``FakeUnitOfWork``: the fakes keep
real domain objects and fake only the storage. Each repository does what its SQL twin in
``adapters/db/`` does (same arguments, same ordering, same "not found" answers), so a use
case cannot tell them apart.

Transactions are honest. Units of work made by one ``FakeUnitOfWorkFactory`` share one
``InMemoryStore`` (the "database"). Entering a unit of work takes a deep copy of it; the
repositories read and write only that copy; ``commit`` replaces the store's contents with
(a copy of) it. Leaving without ``commit`` drops the copy, which is the rollback: a use
case that raises half-way leaves the store exactly as it was.

Deliberately not faked (they raise ``NotImplementedError`` saying so): the webhook
delivery worker's side of ``webhook_events`` (leasing and recording attempts), staff and
reconciliation. Row locks are not modelled: units of work are meant to run one after
another, and a commit made while another unit of work has committed since this one began
is refused rather than silently overwriting it.

The modules, one concern each:

- ``store``: ``InMemoryStore``, the committed state, and the rows it keeps;
- ``unit_of_work``: ``FakeUnitOfWork`` and ``FakeUnitOfWorkFactory`` (mypy checks there
  that they fit the ``UnitOfWork`` and ``UnitOfWorkFactory`` protocols);
- ``orders``: ``uow.orders``, the aggregates and the events they record;
- ``merchants``: merchants and API keys, stock, idempotency keys, settings, provider events;
- ``money_ledgers``: the merchant's float and the customer's points;
- ``store_credit``: the customer's store credit accounts and their ledger;
- ``outbox``: the provider work the worker sends after the commit;
- ``saved_views``: staff members' saved views of the dashboard's lists;
- ``webhooks``: webhook endpoints, and the events and deliveries owed to them;
- ``stand_ins``: what stands in for the repositories not faked.
"""

from tests.unit.fakes.store import InMemoryStore
from tests.unit.fakes.unit_of_work import FakeUnitOfWork, FakeUnitOfWorkFactory

__all__ = ["FakeUnitOfWork", "FakeUnitOfWorkFactory", "InMemoryStore"]
