"""CPU time of processes, read from /proc: what a benchmark's processes spent, by group.

A group (the API's uvicorn processes, one ``refundry worker``, the PostgreSQL backends
serving one database) names its processes afresh at every sample, so processes that
start during a measurement are counted from their first tick, and one that ends
keeps what it had spent at the last sample before it ended (a backend that lives less
than a sample is missed: ``pg_stat_database.sessions`` says how many there were).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.http_server import children

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from its 3rd field (state) on; the name may hold spaces."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def ticks(pid: int) -> int | None:
    """utime + stime of ``pid`` (all its threads), in clock ticks; None once it is gone."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[11]) + int(fields[12])


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (uvicorn's master and its worker processes)."""
    return [pid, *children(pid)]


@dataclass(slots=True)
class Group:
    name: str
    pids: Callable[[], Iterable[int]]
    start: dict[int, int] = field(default_factory=dict)  # ticks when first seen
    last: dict[int, int] = field(default_factory=dict)  # ticks when last seen

    def sample(self, *, first: bool) -> None:
        for pid in self.pids():
            now = ticks(pid)
            if now is None:
                continue
            # Seen at the first sample: counted from then. Seen later: it started during
            # the measurement, and all it spent is the measurement's.
            self.start.setdefault(pid, now if first else 0)
            self.last[pid] = now

    @property
    def ms(self) -> float:
        return sum(self.last[pid] - self.start[pid] for pid in self.last) * TICK_MS


class CpuMeter:
    """CPU spent by each group between the first ``sample()`` and the last."""

    def __init__(self, groups: dict[str, Callable[[], Iterable[int]]]) -> None:
        self.groups = [Group(name, pids) for name, pids in groups.items()]
        self._sampled = False

    def sample(self) -> None:
        for group in self.groups:
            group.sample(first=not self._sampled)
        self._sampled = True

    def ms(self) -> dict[str, float]:
        return {group.name: group.ms for group in self.groups}


# ------------------------------------------------------- a whole PostgreSQL server
def _postgres_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def postgres_server_ticks() -> int | None:
    """CPU of every PostgreSQL process on this machine, those already ended included (the
    postmaster's cutime and cstime hold what its ended children spent); None when there
    is none here (a remote server). Any other load on that server is in it too."""
    pids = _postgres_pids()
    if not pids:
        return None
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        total += int(fields[11]) + int(fields[12])
        parent = int(fields[1])
        if parent not in pids:  # the postmaster: its children's ended lives are its own
            total += int(fields[13]) + int(fields[14])
    return total
