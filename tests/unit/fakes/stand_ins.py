"""Stand-ins for the repositories deliberately not faked (staff, reconciliation)."""

from __future__ import annotations

from typing import Any


class NotFaked:
    """Stands in for a repository no handler test reaches: any use says so plainly."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> Any:
        raise NotImplementedError(f"the fake unit of work has no {self._name}.{method}")
