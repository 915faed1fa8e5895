"""Handler tests run on the in-memory fakes: no database, no server, no network."""

from __future__ import annotations

import uuid

import pytest

from tests.unit.fakes import FakeUnitOfWorkFactory
from tests.unit.handlers import given


@pytest.fixture
def uow_factory() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


@pytest.fixture
def merchant_id(uow_factory: FakeUnitOfWorkFactory) -> uuid.UUID:
    return given.a_merchant(uow_factory)
