"""A failed statement's error never carries its parameters: they hold customers' e-mails,
gift-card tokens and key hashes, and the error reaches logs and traces."""

from __future__ import annotations

from pathlib import Path

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
