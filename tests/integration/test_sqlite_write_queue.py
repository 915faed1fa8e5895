"""SQLite's writers of one process queue for the database's write lock in the process
(adapters/db/engine.py): the next one goes in as soon as the holder's transaction ends,
however it ends, and one that waited too long fails like SQLite would and gives its
connection back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from refundry.adapters.db import engine as engine_module
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    made = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'queue.db'}"))
    yield made
    made.engine.dispose()


def hold_the_write_lock(container: Container, *, then_fail: bool = False) -> tuple[
    threading.Thread, threading.Event, threading.Event
]:  # fmt: skip
    """A thread that opens a write transaction, says so, and ends it when told."""
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with container.uow_factory() as uow:
                create_merchant(uow, "Holder")
                holding.set()
                release.wait(10)
                if then_fail:
                    raise RuntimeError("the use case failed")
                uow.commit()
        except RuntimeError:
            pass

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(10)
    return thread, holding, release


@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_the_next_writer_goes_in_once_the_holder_ends(container: Container, ending: str) -> None:
    # given a writer holding the lock
    thread, _, release = hold_the_write_lock(container, then_fail=ending == "rollback")
    # when another writer starts, and the holder ends a moment later
    started = time.monotonic()
    threading.Timer(0.3, release.set).start()
    made = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Next"))
    waited = time.monotonic() - started
    thread.join(10)
    # then the second writer waited for the first to end, and no longer than that wait
    # plus its own work (SQLite's own retry loop sleeps up to 100 ms at a time)
    assert 0.25 <= waited < 5, waited
    # (a holder's rollback hands the lock on too: were it kept, this wait would be 30 s)
    stored = transactions.read(
        container.uow_factory, lambda uow: uow.merchants.get(made.merchant.id)
    )
    assert stored is not None


def test_a_writer_that_waits_too_long_fails_and_gives_its_connection_back(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a writer holding the lock, and a wait of 0.2 s at most
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
    thread, _, release = hold_the_write_lock(container)
    pool = container.engine.pool
    try:
        checked_out = pool.checkedout()  # type: ignore[attr-defined]
        # when another writer tries
        with pytest.raises(sa.exc.OperationalError, match="database is locked") as refused:
            transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Late"))
        # then it failed as SQLite would have, and its connection is back in the pool at
        # once (while the error, and so its frames, are still held: a caller that logs or
        # keeps it must not keep a connection out of the pool)
        assert refused.traceback
        assert pool.checkedout() == checked_out  # type: ignore[attr-defined]
    finally:
        release.set()
        thread.join(10)
    # and once the holder is done, writing works again
    transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "After"))
