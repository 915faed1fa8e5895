"""Migrations reach the database by the engine's own URL, whatever it holds (issue 23's
failover pair is one URL with several hosts)."""

from __future__ import annotations

import sqlalchemy as sa

from refundry.adapters.db.migrate import alembic_config

FAILOVER_PAIR = (
    "postgresql+psycopg://postgres@/refundry?host=127.0.0.1:5433&host=127.0.0.1:5434"
    "&target_session_attrs=read-write"
)


def test_a_url_with_several_hosts_reaches_alembic_whole() -> None:
    engine = sa.create_engine(FAILOVER_PAIR)  # no connection is opened
    rendered = engine.url.render_as_string(hide_password=False)
    assert "%" in rendered  # the hosts' colons are quoted
    assert alembic_config(engine).get_main_option("sqlalchemy.url") == rendered
