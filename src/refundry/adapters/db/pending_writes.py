"""Writes held back until the transaction's next statement or its commit, then sent
together: on PostgreSQL as one statement, on SQLite one after another as before.

A change writes rows whose results nobody reads: the order's new version, a refund with
its lines and history, the outbox message, the webhook event and its deliveries, the
stock, the stored response. Sent one by one, each was a round trip, and those were most
of a keyed refund's round trips on PostgreSQL (issue 20). A write unit of work holds them
here (``hold``); they leave just before the next statement the transaction sends, or
before its commit, as one statement whose parts are data-modifying CTEs
(``WITH w0 AS (UPDATE ...), w1 AS (INSERT ...) SELECT ...``).

What keeps that equivalent to sending each write at once:

- Every other statement on the connection sends what is held first (``install``: the
  engine's ``before_execute`` event), so each statement still sees every write made
  before it; ``exec_driver_sql`` does not fire that event, and only read queries use it.
  The unit of work sends the rest before it commits (``PendingWrites.send``). Not the
  engine's ``commit`` event: a write refused there leaves SQLAlchemy believing the
  transaction ended, and the pool takes the connection back still inside it.
- Only writes whose result nothing reads are held. An update whose row count matters
  names how many rows it must change (``expect_rows``), checked once it is sent.
- The parts of one PostgreSQL statement all see the database as it was before the
  statement, run in no set order, and must not change one row twice. So a write joins
  the statement being gathered only if no part of it writes the same table, or both are
  plain inserts (new rows; a unique index still refuses a duplicate between them).
  Foreign keys are checked at the statement's end, so a refund and its lines, or an
  event and its deliveries, may be parts of one.
- A rollback drops what is held, as it would have undone the writes.

CPU matters as much as round trips (``docs/performance.md``): every statement here is
built once per shape (the tables and columns it writes) with bound parameters, never
with its values in it, so SQLAlchemy finds its compiled form at once. A part's rows, if
more than one, travel as one array parameter per column (``unnest``), so its text does
not depend on how many rows it carries.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert, UpdateBase

Row = dict[str, Any]
# A bound parameter by name (and type, where SQL cannot infer it); gathered into one
# statement, each part's names are made its own.
Bind = Callable[..., Any]

_OPTION = "refundry_pending_writes"


@dataclass(frozen=True, slots=True)
class _Write:
    table: sa.Table
    shape: Hashable  # what the statements' text depends on (never the values)
    alone: Any  # the statement sent on its own, built once
    params: Row | list[Row]  # its parameters (a list: one execution per row)
    together: Callable[[Bind], UpdateBase]  # the write as a part, from its shape alone
    together_params: Callable[[], Row]  # the part's parameters, by unprefixed name
    inserts_only: bool  # adds new rows and changes none
    expect_rows: int | None = None
    mismatch: Callable[[], Exception] | None = None

    def check(self, rows: int) -> None:
        if self.expect_rows is not None and rows != self.expect_rows:
            assert self.mismatch is not None
            raise self.mismatch()


class PendingWrites:
    """The writes a transaction holds, in the order they were made."""

    def __init__(self) -> None:
        self._writes: list[_Write] = []

    def add(self, write: _Write) -> None:
        self._writes.append(write)

    def send(self, connection: sa.Connection) -> None:
        """Send every held write now, in order; raise what a failed check names."""
        writes, self._writes = self._writes, []  # taken first: sending executes too
        if connection.dialect.name != "postgresql":
            for write in writes:
                _send_alone(connection, write)
            return
        for group in _groups(writes):
            if len(group) == 1:
                _send_alone(connection, group[0])
            else:
                _send_together(connection, group)


def install(engine: Engine) -> None:
    """Make every statement a connection of ``engine`` executes send its held writes first."""
    event.listen(engine, "before_execute", _send_held_writes)


def hold(connection: sa.Connection) -> PendingWrites:
    """Hold this connection's writes (the ``*_later`` functions) until its next statement
    or ``send``, which its owner calls before it commits; without it they are sent at
    once."""
    pending = PendingWrites()
    connection.execution_options(**{_OPTION: pending})
    return pending


def insert_later(
    connection: sa.Connection,
    into: sa.Table | Insert,
    rows: Sequence[Row],
    *,
    updates_existing: bool = False,
) -> None:
    """New rows of a table, or of an INSERT built once (one that says ON CONFLICT;
    ``updates_existing`` if its ON CONFLICT updates the row already there)."""
    if not rows:
        return
    statement = _plain_insert(into) if isinstance(into, sa.Table) else into
    table = statement.table
    assert isinstance(table, sa.Table)
    names = tuple(rows[0])
    # One row travels as plain parameters (arrays cost psycopg more to write), more as
    # one array per column.
    one = len(rows) == 1
    _write(
        connection,
        _Write(
            table,
            ("insert", statement, names, one),
            statement,
            list(rows),
            functools.partial(_insert_part, statement, names, one),
            (lambda: rows[0]) if one else functools.partial(_columns, rows, names),
            inserts_only=not updates_existing,
        ),
    )


def update_later(
    connection: sa.Connection,
    table: sa.Table,
    values: Row,
    *,
    where: Row,
    expect_rows: int | None = None,
    mismatch: Callable[[], Exception] | None = None,
) -> None:
    """``UPDATE table SET values WHERE`` each column of ``where`` equals its value. With
    ``expect_rows``, changing another number of rows raises ``mismatch()`` once sent."""
    if (expect_rows is None) != (mismatch is None):
        raise ValueError("expect_rows and mismatch go together")
    keys, names = tuple(where), tuple(values)
    params = values | {f"b_{key}": value for key, value in where.items()}
    _write(
        connection,
        _Write(
            table,
            ("update", table, keys, names),
            _update_statement(table, keys),
            params,
            functools.partial(_update_part, table, keys, names),
            lambda: params,
            inserts_only=False,
            expect_rows=expect_rows,
            mismatch=mismatch,
        ),
    )


def update_rows_later(
    connection: sa.Connection, table: sa.Table, rows: Sequence[Row], *, keys: Sequence[str]
) -> None:
    """Rows of ``table`` found by their ``keys`` columns, set to the rest of their values
    (every row names the same columns)."""
    if not rows:
        return
    key_names = tuple(keys)
    names = tuple(name for name in rows[0] if name not in key_names)
    alone_rows = [
        {f"b_{name}" if name in key_names else name: value for name, value in row.items()}
        for row in rows
    ]
    _write(
        connection,
        _Write(
            table,
            ("update rows", table, key_names, names),
            _update_statement(table, key_names),
            alone_rows,
            functools.partial(_update_rows_part, table, key_names, names),
            functools.partial(_columns, rows, (*key_names, *names)),
            inserts_only=False,
        ),
    )


def write_later(
    connection: sa.Connection,
    build: Callable[[Bind], UpdateBase],
    params: Row,
    *,
    adds_rows_only: bool = False,
) -> None:
    """Any other write: ``build(bind)`` makes it, its parameters made by ``bind(name)``
    (or ``bind(name, type)``). ``build`` must live as long as the process: it names the
    write's shape, whose statements are built once."""
    alone = _built_once(("write", build), lambda: build(_named))
    _write(
        connection,
        _Write(
            alone.table,
            ("write", build),
            alone,
            params,
            build,
            lambda: params,
            inserts_only=adds_rows_only,
        ),
    )


def _unnested(bind: Bind, types: Mapping[str, Any]) -> Any:
    """Rows as a PostgreSQL table to select from: ``unnest`` of one array parameter per
    column (``types``: each column's type)."""
    arrays = [bind(name, postgresql.ARRAY(_unbounded(kind))) for name, kind in types.items()]
    return sa.func.unnest(*arrays).table_valued(*types).render_derived()


def _unbounded(kind: Any) -> Any:
    # An explicit cast to varchar(n) cuts a longer text short without a word; stored into
    # the column, a text too long is refused, as it was before it travelled in an array.
    if isinstance(kind, sa.String) and kind.length is not None:
        return sa.String()
    return kind


# ---------------------------------------------------------------------------- sending
def _write(connection: sa.Connection, write: _Write) -> None:
    pending: PendingWrites | None = connection.get_execution_options().get(_OPTION)
    if pending is None:
        _send_alone(connection, write)
    else:
        pending.add(write)


def _send_held_writes(connection: sa.Connection, *_args: Any) -> None:
    pending: PendingWrites | None = connection.get_execution_options().get(_OPTION)
    if pending is not None:
        pending.send(connection)


def _send_alone(connection: sa.Connection, write: _Write) -> None:
    result = connection.execute(write.alone, write.params)
    if write.expect_rows is not None:
        write.check(result.rowcount)


def _send_together(connection: sa.Connection, writes: list[_Write]) -> None:
    shapes = tuple(write.shape for write in writes)
    statement = _built_once(shapes, lambda: _gathered(writes))
    params = {
        f"w{index}_{name}": value
        for index, write in enumerate(writes)
        for name, value in write.together_params().items()
    }
    row = connection.execute(statement, params).one()
    for write, rows in zip(writes, row, strict=True):
        write.check(rows)


def _gathered(writes: list[_Write]) -> sa.Select[Any]:
    """One statement of ``writes``' parts, counting each part's rows (the statement
    refers to every part: PostgreSQL runs a data-modifying CTE anyway, SQLAlchemy
    renders only what is referred to)."""
    parts = [
        write.together(functools.partial(_named, prefix=f"w{index}_"))
        .returning(sa.literal_column("1"))
        .cte(f"w{index}")
        for index, write in enumerate(writes)
    ]
    return sa.select(
        *(
            sa.select(sa.func.count()).select_from(part).scalar_subquery().label(f"n{index}")
            for index, part in enumerate(parts)
        )
    )


def _groups(writes: list[_Write]) -> list[list[_Write]]:
    """Consecutive writes that may be parts of one statement (see the module's doc)."""
    groups: list[list[_Write]] = []
    current: list[_Write] = []
    for write in writes:
        if any(
            held.table is write.table and not (held.inserts_only and write.inserts_only)
            for held in current
        ):
            groups.append(current)
            current = []
        current.append(write)
    if current:
        groups.append(current)
    return groups


# ------------------------------------------------------------------- statements by shape
_STATEMENTS: dict[Hashable, Any] = {}
_STATEMENTS_LOCK = threading.Lock()
_MAX_SHAPES = 1024  # a bound, should some caller make shapes without end


def _built_once(shape: Hashable, build: Callable[[], Any]) -> Any:
    """The statement of ``shape``, built the first time it is asked for. The same object
    every time: SQLAlchemy then reuses its cache key and compiled SQL."""
    statement = _STATEMENTS.get(shape)
    if statement is None:
        statement = build()
        with _STATEMENTS_LOCK:
            if len(_STATEMENTS) >= _MAX_SHAPES:
                _STATEMENTS.clear()
            statement = _STATEMENTS.setdefault(shape, statement)
    return statement


def _columns(rows: Sequence[Row], names: Sequence[str]) -> Row:
    """Rows as one list of values per column (each an array parameter of ``unnested``)."""
    return {name: [row[name] for row in rows] for name in names}


def _named(name: str, type_: Any = None, *, prefix: str = "") -> Any:
    return sa.bindparam(f"{prefix}{name}", type_=type_)


@functools.cache
def _plain_insert(table: sa.Table) -> Insert:
    return sa.insert(table)


def _insert_part(statement: Insert, names: tuple[str, ...], one: bool, bind: Bind) -> Insert:
    if one:
        return statement.values({name: bind(name) for name in names})
    table = statement.table
    assert isinstance(table, sa.Table)
    rows = _unnested(bind, {name: table.c[name].type for name in names})
    return statement.from_select(list(names), sa.select(*rows.c))


def _update_statement(table: sa.Table, keys: tuple[str, ...]) -> Any:
    """Sent alone: its SET clause is the columns its parameters name (besides ``b_*``)."""
    return _built_once(
        ("update alone", table, keys),
        lambda: sa.update(table).where(*(table.c[key] == sa.bindparam(f"b_{key}") for key in keys)),
    )


def _update_part(
    table: sa.Table, keys: tuple[str, ...], names: tuple[str, ...], bind: Bind
) -> sa.Update:
    return (
        sa.update(table)
        .where(*(table.c[key] == bind(f"b_{key}") for key in keys))
        .values({name: bind(name) for name in names})
    )


def _update_rows_part(
    table: sa.Table, keys: tuple[str, ...], names: tuple[str, ...], bind: Bind
) -> sa.Update:
    rows = _unnested(bind, {name: table.c[name].type for name in (*keys, *names)})
    return (
        sa.update(table)
        .where(*(table.c[key] == rows.c[key] for key in keys))
        .values({name: rows.c[name] for name in names})
    )
