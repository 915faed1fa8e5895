"""The money-out part's tables, and the issue's targets with whether they hold.

Speed is reported, never failed on: a MISSED target is printed, not an exit code.
"""

from __future__ import annotations

from collections.abc import Iterable

from benchmarks.money import MoneyOutcome
from benchmarks.money_drain import Cell
from benchmarks.money_knobs import MoneyKnobs


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _markdown(header: list[str], rows: Iterable[list[str]], right_from: int = 1) -> str:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _cells(outcomes: list[MoneyOutcome]) -> list[Cell]:
    return [cell for outcome in outcomes for cell in outcome.cells]


def _key(cell: Cell) -> list[str]:
    return [cell.database, str(cell.workers), str(cell.latency_ms)]


def _per(cell: Cell, value: float | None, digits: int = 1) -> str:
    return fmt(cell.per_refund(value), digits)


def drain_table(outcomes: list[MoneyOutcome]) -> str:
    rows = []
    for cell in _cells(outcomes):
        ratio = (cell.completed_per_s / cell.created_per_s
                 if cell.completed_per_s and cell.created_per_s else None)  # fmt: skip
        peak = max((backlog for _, backlog in cell.backlog), default=0)
        trouble = ", ".join(f"{n} {kind}" for kind, n in cell.trouble.items() if n) or "-"
        rows.append([
            *_key(cell), f"{cell.completed:,} / {cell.refunds:,}", fmt(cell.created_per_s),
            fmt(cell.completed_per_s, 1), fmt(ratio, 2), fmt(cell.drain_seconds, 1),
            f"{peak:,}", _per(cell, cell.cpu_total_ms), trouble,
        ])  # fmt: skip
    header = ["database", "workers", "gateway ms", "completed / asked", "created/s",
              "completed/s", "completed / created", "first created to last completed, s",
              "peak backlog", "CPU ms / refund, all", "worker log"]  # fmt: skip
    return _markdown(header, rows)


SERIES_POINTS = 30  # a longer series is thinned to about this many points, the last kept


def _series(cell: Cell, knobs: MoneyKnobs) -> str:
    step = -(-len(cell.backlog) // SERIES_POINTS)
    points = cell.backlog[::step]
    if cell.backlog and points[-1] is not cell.backlog[-1]:
        points.append(cell.backlog[-1])
    every = f"(every {step * knobs.sample_seconds:g} s) " if step > 1 else ""
    return every + ", ".join(f"{backlog:,}" for _, backlog in points)


def backlog_table(outcomes: list[MoneyOutcome], knobs: MoneyKnobs) -> str:
    rows = [[*_key(cell), _series(cell, knobs)] for cell in _cells(outcomes)]
    header = ["database", "workers", "gateway ms",
              f"backlog (created, not yet settled) every {knobs.sample_seconds:g} s from the "
              "first refund seen, and at the end"]  # fmt: skip
    return _markdown(header, rows)


def cpu_table(outcomes: list[MoneyOutcome]) -> str:
    rows = []
    for cell in _cells(outcomes):
        workers = " + ".join(_per(cell, ms, 2) for name, ms in cell.cpu_ms.items()
                             if name.startswith("worker"))  # fmt: skip
        rows.append([
            *_key(cell), _per(cell, cell.cpu_ms.get("API"), 2), workers,
            _per(cell, cell.cpu_ms.get("gateway"), 2),
            _per(cell, cell.cpu_ms.get("PostgreSQL backends"), 2),
            _per(cell, cell.cpu_total_ms, 2), _per(cell, cell.server_cpu_ms, 2),
        ])  # fmt: skip
    header = ["database", "workers", "gateway ms", "API (uvicorn, all processes)",
              "worker(s)", "gateway", "PostgreSQL backends of the database", "all together",
              "every PostgreSQL process (server-wide; not in the total)"]  # fmt: skip
    return _markdown(header, rows)


def database_table(outcomes: list[MoneyOutcome]) -> str:
    rows = []
    for cell in _cells(outcomes):
        db = cell.db
        if db is None:
            continue
        rows.append([
            *_key(cell), *(_per(cell, value) for value in (
                db.transactions, db.commits, db.rollbacks, db.inserted, db.updated,
                db.deleted, db.fetched, db.statements)),
            f"{db.sessions:,}",
        ])  # fmt: skip
    header = ["database", "workers", "gateway ms", "transactions", "commits", "rollbacks",
              "rows inserted", "rows updated", "rows deleted", "rows fetched",
              "statements", "sessions opened (cell)"]  # fmt: skip
    return _markdown(header, rows)


def ceiling_table(outcomes: list[MoneyOutcome]) -> str:
    rows = []
    for outcome in outcomes:
        if outcome.ceiling is None:
            continue
        bare = outcome.ceiling.rows[0]
        for row in outcome.ceiling.rows:
            rate = (row.per_second or 0) / (bare.per_second or 1)
            p99 = (row.p99_ms or 0) / (bare.p99_ms or 1)
            rows.append([row.scenario, row.database, f"{row.count:,}", fmt(row.per_second),
                         fmt(row.p50_ms, 1), fmt(row.p99_ms, 1), str(row.errors),
                         f"{rate:.2f}x", f"{p99:.2f}x"])  # fmt: skip
    header = ["scenario", "database", "requests", "requests/s", "p50 ms", "p99 ms", "errors",
              "rate / bare", "p99 / bare p99"]  # fmt: skip
    return _markdown(header, rows, right_from=2)


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "holds" if ok else "MISSED"


def _find(outcome: MoneyOutcome, workers: int, latency: int) -> Cell | None:
    return next((cell for cell in outcome.cells
                 if (cell.workers, cell.latency_ms) == (workers, latency)), None)  # fmt: skip


def _drain_targets(outcome: MoneyOutcome) -> list[tuple[str, str, bool | None]]:
    said: list[tuple[str, str, bool | None]] = []
    one = _find(outcome, 1, 50)
    if one and one.completed_per_s and one.created_per_s:
        ratio = one.completed_per_s / one.created_per_s
        measured = f"{one.completed_per_s:,.1f} / {one.created_per_s:,.0f} = {ratio:.2f}"
        said.append(("1 worker at 50 ms: completed/s >= 0.8x created/s", measured, ratio >= 0.8))
    else:
        said.append(("1 worker at 50 ms: completed/s >= 0.8x created/s", "-", None))
    slow = _find(outcome, 1, 200)
    rate = slow.completed_per_s if slow else None
    said.append(("1 worker at 200 ms drains >= 50 refunds/s", f"{fmt(rate, 1)}/s",
                 None if rate is None else rate >= 50))  # fmt: skip
    for latency in sorted({cell.latency_ms for cell in outcome.cells}):
        one, two = _find(outcome, 1, latency), _find(outcome, 2, latency)
        if one and two and one.completed_per_s and two.completed_per_s:
            times = two.completed_per_s / one.completed_per_s
            said.append((f"2 workers drain at least as fast as 1, at {latency} ms",
                         f"{two.completed_per_s:,.1f} vs {one.completed_per_s:,.1f}/s "
                         f"({times:.2f}x)", times >= 1))  # fmt: skip
    costs = [(ms, cell) for cell in outcome.cells
             if (ms := cell.per_refund(cell.cpu_total_ms)) is not None]  # fmt: skip
    if costs:
        worst, cell = max(costs, key=lambda item: item[0])
        said.append(("CPU per completed refund, all processes <= 10 ms (worst cell)",
                     f"{worst:.1f} ms ({cell.workers} worker(s), {cell.latency_ms} ms)",
                     worst <= 10))  # fmt: skip
    return said


def _ceiling_targets(outcome: MoneyOutcome) -> list[tuple[str, str, bool | None]]:
    if outcome.ceiling is None:
        return []
    ratios = outcome.ceiling.ratio()
    refund = outcome.ceiling.rows[2]
    rate_target = "keyed partial refund >= 0.3x the bare one-INSERT endpoint's rate"
    p99_target = "keyed partial refund p99 <= 3x the bare endpoint's p99"
    if ratios is None:
        return [(rate_target, "-", None), (p99_target, "-", None)]
    return [
        (rate_target, f"{ratios[0]:.2f}x ({fmt(refund.per_second)}/s)", ratios[0] >= 0.3),
        (p99_target, f"{ratios[1]:.2f}x ({fmt(refund.p99_ms, 1)} ms)", ratios[1] <= 3),
    ]


def targets_table(outcomes: list[MoneyOutcome]) -> str:
    rows = []
    for outcome in outcomes:
        money_ok = not any(failure.startswith("money:") for failure in outcome.failures)
        said = [
            *_drain_targets(outcome),
            *_ceiling_targets(outcome),
            ("each refund paid once, as the gateway has it", outcome.money or "-",
             money_ok if outcome.money else None),
        ]  # fmt: skip
        rows += [[target, outcome.database, measured, _verdict(ok)]
                 for target, measured, ok in said]  # fmt: skip
    return _markdown(["target", "database", "measured", "verdict"], rows, right_from=99)


def report(outcomes: list[MoneyOutcome], knobs: MoneyKnobs) -> str:
    statements = any(outcome.statements_counted for outcome in outcomes)
    parts = [
        "money out: refunds drained to the sandbox gateway",
        drain_table(outcomes),
        backlog_table(outcomes, knobs),
        "money out: CPU ms per completed refund, by process (utime + stime from /proc)",
        cpu_table(outcomes),
    ]
    if any(cell.db for cell in _cells(outcomes)):
        parts += [
            "money out: PostgreSQL's work per completed refund (pg_stat_database deltas; "
            + ("statements from pg_stat_statements" if statements else
               "statements need pg_stat_statements in shared_preload_libraries: not loaded "
               "here") + ")",
            database_table(outcomes),
        ]  # fmt: skip
    if any(outcome.ceiling for outcome in outcomes):
        parts += ["money out: the framework ceiling (in turns, no worker running)",
                  ceiling_table(outcomes)]  # fmt: skip
    parts += ["money out: targets", targets_table(outcomes)]
    return "\n\n".join(parts)
