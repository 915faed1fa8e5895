"""A failed statement's error never carries its parameters, nor the values PostgreSQL
quotes back in its own message: they hold customers' e-mails, gift-card tokens and key
hashes, and the error reaches logs and traces."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from refundry.adapters.db.engine import create_engine

SECRET = "customer-secret@example.com"


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_failed_statement_names_no_parameter(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'errors.db'}"
        if database == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = create_engine(url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as failed, engine.connect() as connection:
            # a table no database here has: the statement fails after binding
            connection.execute(
                sa.text("INSERT INTO no_such_table_here (email) VALUES (:email)"),
                {"email": SECRET},
            )
        assert "no_such_table_here" in str(failed.value)  # the statement is still named
        assert SECRET not in str(failed.value)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_unique_violation_quotes_no_value_but_keeps_its_diagnosis(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'errors.db'}"
        if database == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("CREATE TABLE people (email VARCHAR(320) CONSTRAINT people_email UNIQUE)")
            )
            connection.execute(sa.text("INSERT INTO people VALUES (:email)"), {"email": SECRET})
        # when the same e-mail goes in again (PostgreSQL's DETAIL would quote it)
        with pytest.raises(sa.exc.IntegrityError) as failed, engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO people VALUES (:email)"), {"email": SECRET})
        # then neither the error nor the traceback a log prints of it holds the value
        logged = "".join(traceback.format_exception(failed.value))
        assert "people_email" in logged or "people.email" in logged  # still says which
        assert SECRET not in logged
        if database == "postgres":
            # and code that inspects the driver's error still reads its diagnosis
            driver_error: Any = failed.value.orig
            assert driver_error.sqlstate == "23505"
            assert driver_error.diag.constraint_name == "people_email"
            assert SECRET in driver_error.diag.message_detail
    finally:
        engine.dispose()
