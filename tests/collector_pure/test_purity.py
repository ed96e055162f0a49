"""The collector's pure pieces import no socket, clock, randomness, sqlite or grpc (STYLE.md rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

COLLECTOR = Path(__file__).resolve().parents[2] / "collector"
PURE_MODULES = [
    "asn.py",
    "asn_formats.py",
    "ipnum.py",
    "rangetable.py",
    "asn_merge.py",
    "targets.py",
    "hostnames.py",
    "countries.py",
    "assignment.py",
    "assignment_model.py",
    "reachability.py",
    "interference.py",
    "task_specs.py",
    "rendezvous.py",
]
FORBIDDEN = {"socket", "asyncio", "time", "random", "grpc", "sqlite3", "ssl", "selectors", "datetime", "os"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_no_io(module: str) -> None:
    tree = ast.parse((COLLECTOR / module).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
            if node.module.startswith("vantage.collector."):
                dependency = node.module.rsplit(".", 1)[1] + ".py"
                assert dependency in PURE_MODULES, f"{module} imports {dependency}, which is not pure"
    assert not imported & FORBIDDEN, imported & FORBIDDEN
