"""A CLI command on the demo's SQLite file while its server writes: the command's start
(migrate, which also writes the instance secret) must wait its turn, not fail with
"database is locked" because its transaction began as a reader."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import sqlalchemy as sa

from refundry.adapters.db.engine import WRITE_OPTION, create_engine
from refundry.adapters.db.migrate import migrate
from refundry.adapters.db.tables import merchants as merchant_tables


def test_migrate_waits_for_a_writer_instead_of_failing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    server, cli = create_engine(url), create_engine(url)
    migrate(server)
    writing, done = threading.Event(), threading.Event()

    def server_writes() -> None:
        # a server's write transaction that is still open when the command starts
        with server.connect() as plain:
            connection = plain.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                connection.execute(
                    sa.insert(merchant_tables.instance_settings).values(name="busy", value="1")
                )
                writing.set()
                time.sleep(1.0)
        done.set()

    thread = threading.Thread(target=server_writes)
    thread.start()
    assert writing.wait(10)
    migrate(cli)  # reads, then writes: must queue behind the server, then succeed
    thread.join(10)
    assert done.is_set()
    with cli.connect() as connection:
        names = set(
            connection.execute(sa.select(merchant_tables.instance_settings.c.name)).scalars()
        )
    assert {"busy", "quote_signing_key"} <= names
    server.dispose()
    cli.dispose()
