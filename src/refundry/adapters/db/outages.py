"""A database that cannot be reached, told apart from a statement that failed.

Every driver error of an engine passes through ``install``'s listener. One that means the
database is out of reach becomes ``DatabaseUnavailable`` (its ``__cause__`` is the
driver's error), which the API answers 503 with ``Retry-After`` and the worker retries
next round; before, it was a 500 whose exception reached uvicorn, and uvicorn closed the
client's keep-alive connection. Out of reach means:

- no connection could be opened (refused, unreachable, the server starting or shutting
  down, too many clients; a SQLite file that cannot be opened), or
- the connection broke under a statement (the server went away, the network cut it):
  SQLAlchemy calls that a disconnect and replaces the pool's connections, or
- a write transaction met a server that no longer takes writes (SQLSTATE 25006,
  "cannot execute ... in a read-only transaction"): after a failover the old primary
  comes back as a standby, and a connection opened to it in the moment before (or a
  pooler still pointing at it) is a connection to the wrong server. It is a disconnect
  too, so the pool replaces every connection and the next one, opened with
  ``target_session_attrs=read-write``, finds the new primary. A read transaction is READ
  ONLY on purpose (``engine.begin``): a write in one is a bug, and keeps its type.

A statement that failed on a working connection keeps its own type, although the driver
calls several of them ``OperationalError`` too: a serialization failure, a deadlock, a lock
or statement timeout, SQLite's "database is locked". They are about that transaction, not
about the database's availability; nothing retries or maps them today, and calling them an
outage would hide them behind a 503 that invites the same request again.

A pool with no free connection within its timeout (``engine.begin``) is an outage too: the
database is too slow to keep up, and the answer is the same.
"""

from __future__ import annotations

import re

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext

from refundry.domain.errors import DatabaseUnavailable

# What the client reads. A POST cut off at its commit may or may not have been committed;
# its Idempotency-Key makes sending it again safe either way.
DETAIL = (
    "the database cannot be reached just now; send the request again in a few seconds "
    "(a POST with the same Idempotency-Key)"
)


# PostgreSQL's read_only_sql_transaction
READ_ONLY_SQL_TRANSACTION = "25006"


def install(engine: Engine) -> None:
    event.listen(engine, "handle_error", _outage_or_none)


# What a server that answered says when the settings are wrong, not the server away: a
# password or role refused, no pg_hba.conf entry, a database that does not exist. Those
# keep the driver's error, whose message names the mistake, rather than "try again in a
# few seconds". (libpq reports a refused start-up as text, with no SQLSTATE.)
MISCONFIGURED = re.compile(
    r"password authentication failed|no pg_hba\.conf entry|"
    r'(database|role) "[^"]*" does not exist'
)


def _outage_or_none(context: ExceptionContext) -> BaseException | None:
    if context.is_pre_ping:
        return None  # SQLAlchemy replaces a connection whose ping failed on its own
    if not isinstance(context.original_exception, context.dialect.loaded_dbapi.Error):
        # Ctrl-C, a cancelled task: SQLAlchemy calls those a disconnect too (the
        # connection cannot be trusted after them), but the database is not away.
        return None
    if context.is_disconnect or _could_not_connect(context):
        return DatabaseUnavailable(DETAIL)
    if _server_takes_no_writes(context):
        context.is_disconnect = True  # SQLAlchemy then invalidates the whole pool
        return DatabaseUnavailable(DETAIL)
    return None


def _server_takes_no_writes(context: ExceptionContext) -> bool:
    sqlstate = getattr(context.original_exception, "sqlstate", None)
    if sqlstate != READ_ONLY_SQL_TRANSACTION or context.connection is None:
        return False
    return not context.connection.get_execution_options().get("postgresql_readonly", False)


def _could_not_connect(context: ExceptionContext) -> bool:
    # No connection yet: the error came from opening one (psycopg and sqlite3 both raise
    # their OperationalError for it).
    dbapi = context.dialect.loaded_dbapi
    error = context.original_exception
    return (
        context.connection is None
        and isinstance(error, dbapi.OperationalError)
        and not MISCONFIGURED.search(str(error))
    )


def cause_in_one_line(error: DatabaseUnavailable) -> str:
    """The driver's error that made ``error``, in one line, for a log (never for the client:
    it names hosts and ports)."""
    cause = error.__cause__ or error
    return f"{type(cause).__name__}: {' '.join(str(cause).split())}"[:300]
