"""libpq's trace of what psycopg sends PostgreSQL, counted in round trips.

``before_cursor_execute`` does not see the pool's pre-ping, BEGIN, COMMIT, ROLLBACK or
psycopg's DEALLOCATE: libpq's trace of each connection does. A round trip is a turn of
the conversation: the driver sends messages up to a ``Sync`` (extended protocol) or a
``Query`` (simple protocol), then waits for the server's ``ReadyForQuery``. Turns are
counted by what the driver sent: libpq traces an answer only when it next reads the
socket, so the last answer of a request can show up after the next request's first
message.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass
class WireTrace:
    """libpq's trace of every connection the engine opens, from its first message."""

    files: list[IO[bytes]] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "connect", self._trace)
        engine.dispose()  # a connection opened before now would go untraced

    def _trace(self, dbapi_connection: Any, _record: Any) -> None:
        traced = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        pgconn = dbapi_connection.pgconn
        pgconn.trace(traced.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)
        self.files.append(traced)

    def mark(self) -> None:
        self.marks = [traced.seek(0, 2) for traced in self.files]

    def conversations(self) -> list[list[str]]:
        """Each connection's messages since the mark (psycopg writes them unbuffered)."""
        talks = []
        for index, traced in enumerate(self.files):
            traced.seek(self.marks[index] if index < len(self.marks) else 0)
            talks.append(traced.read().decode(errors="replace").splitlines())
        return talks

    def opened_since_mark(self) -> int:
        return len(self.files) - len(self.marks)

    def round_trips(self) -> list[str]:
        """One entry per turn: the first message the driver sent in it."""
        turns = []
        for lines in self.conversations():
            first: str | None = None
            for line in lines:
                fields = line.split("\t")
                if fields[0] != "F":
                    continue  # an answer, or a multi-line statement's next line
                message = " ".join(fields[2:])[:120]
                first = first or message
                if fields[2] in ("Sync", "Query"):
                    turns.append(first)
                    first = None
        return turns

    def close(self) -> None:
        for traced in self.files:
            traced.close()
