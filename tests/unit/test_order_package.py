"""The order package's modules import one another without a cycle, for type checking too:
the rule modules read ``OrderRoot`` (``root.py``), only ``order.py`` binds them on
``Order``, and the refund calculator reads a Protocol, so each module can be read (and
loaded) below the aggregate."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import refundry.domain.order as package

PACKAGE = Path(package.__file__).parent
NAME = "refundry.domain.order"


def package_imports(path: Path) -> set[str]:
    """The package modules ``path`` imports, at run time or under ``TYPE_CHECKING``."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
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


GRAPH = {path.stem: package_imports(path) for path in sorted(PACKAGE.glob("*.py"))}


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
    assert {"order", "root", "refunds", "cancellation", "restock", "placement"} <= set(GRAPH)
    assert "refunds" in GRAPH["cancellation"]
    assert "root" in GRAPH["refunds"]
    assert "order" not in GRAPH["refunds"]  # the rules read the root, not the aggregate


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_itself_back(module: str) -> None:
    assert cycle_from(module) is None, " -> ".join(cycle_from(module) or [])


def test_the_refund_calculator_does_not_import_the_aggregate() -> None:
    assert GRAPH["refund_calculation"] <= {"lines"}
