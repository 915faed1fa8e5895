"""CSV files as the API streams them and the CLI writes them: UTF-8 with a byte-order
mark (Excel), CRLF lines, and text cells that a spreadsheet cannot run as formulas."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The header line, then one line per row, each as soon as it is made.

    The first row is read here, before a line is given out: when that read fails (the
    database is down), a streamed response has not started yet and the error is answered
    as one (a 503), where later it could only cut a 200 short."""
    remaining = iter(rows)
    first = list(itertools.islice(remaining, 1))
    return _lines(header, itertools.chain(first, remaining))


def _lines(header: Sequence[str], rows: Iterator[Sequence[object]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield "\ufeff" + _take(buffer)
    for row in rows:
        writer.writerow(row)
        yield _take(buffer)


def safe_text(value: str | None) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: keep it text.
    if not value:
        return ""
    return "'" + value if value[0] in "=+-@\t\r" else value


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
