"""The lab's logic modules stay pure: no processes, sockets, clocks or randomness imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[2] / "lab"
PURE_MODULES = ("topology", "scenario", "dataplane", "datasets", "report", "views", "runner", "chart")
FORBIDDEN = {"socket", "subprocess", "time", "random", "os", "grpc", "sqlite3", "threading", "asyncio"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_module_imports_no_io(module: str) -> None:
    tree = ast.parse((LAB / f"{module}.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, f"{module} imports {sorted(imported & FORBIDDEN)}"
