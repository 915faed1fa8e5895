"""The domain is pure Python: it imports the standard library and itself, nothing else."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "refundry" / "domain"
MODULES = sorted(DOMAIN.rglob("*.py"))  # the order package's modules too


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module)
    return roots


def test_the_domain_has_modules_to_check() -> None:
    assert len(MODULES) >= 8


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(DOMAIN)))
def test_a_domain_module_imports_only_the_stdlib_and_the_domain(path: Path) -> None:
    for module in imported_roots(path):
        top = module.split(".")[0]
        allowed = top in sys.stdlib_module_names or module.startswith("refundry.domain")
        assert allowed, f"{path.relative_to(DOMAIN)} imports {module}"
