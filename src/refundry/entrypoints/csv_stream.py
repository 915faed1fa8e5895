"""CSV files as the API streams them and the CLI writes them: UTF-8 with a byte-order
mark (Excel), CRLF lines, and text cells that a spreadsheet cannot run as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The header line, then one line per row, each as soon as it is made."""
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
