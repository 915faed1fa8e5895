"""The order package's modules import one another without a cycle at run time: the rule
modules name ``Order`` for type checking only, and the refund calculator reads a
Protocol, so each module can be read (and loaded) below the aggregate root."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import refundry.domain.order as package

PACKAGE = Path(package.__file__).parent
NAME = "refundry.domain.order"


def runtime_imports(path: Path) -> set[str]:
    """The package modules ``path`` imports when it runs (not under ``TYPE_CHECKING``)."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.ImportFrom) and node.module == NAME:
                for alias in node.names:
                    is_module = (PACKAGE / f"{alias.name}.py").exists()
                    found.add(alias.name if is_module else "__init__")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(NAME + "."):
                found.add((node.module or "").removeprefix(NAME + "."))
            for child in ("body", "orelse", "finalbody", "handlers"):
                visit([n for n in getattr(node, child, []) if isinstance(n, ast.stmt)])

    visit(ast.parse(path.read_text()).body)
    return found


GRAPH = {path.stem: runtime_imports(path) for path in sorted(PACKAGE.glob("*.py"))}


def cycle_from(start: str) -> list[str] | None:
    def walk(module: str, trail: list[str]) -> list[str] | None:
        for imported in sorted(GRAPH.get(module, ())):
            if imported == start:
                return [*trail, imported]
            if imported not in trail:
                found = walk(imported, [*trail, imported])
                if found:
                    return found
        return None

    return walk(start, [start])


def test_the_package_graph_was_read() -> None:
    assert {"order", "refunds", "cancellation", "restock", "placement"} <= set(GRAPH)
    assert "refunds" in GRAPH["cancellation"]
    assert "order" not in GRAPH["refunds"]  # only under TYPE_CHECKING


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_itself_back_at_run_time(module: str) -> None:
    assert cycle_from(module) is None, " -> ".join(cycle_from(module) or [])


def test_the_refund_calculator_does_not_import_the_aggregate() -> None:
    assert GRAPH["refund_calculation"] <= {"lines"}
