"""The pure step modules import no socket, clock, randomness, scapy or grpc (STYLE.md rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "probe" / "engine"
PURE_MODULES = [
    "model.py",
    "icmp_wire.py",
    "icmp_session.py",
    "lanes.py",
    "dns_step.py",
    "http_step.py",
    "pacing.py",
]
FORBIDDEN = {"socket", "asyncio", "time", "random", "scapy", "grpc", "sqlite3", "ssl", "selectors"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_no_io(module: str) -> None:
    tree = ast.parse((ENGINE / module).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
            if node.module.startswith("vantage.probe.engine."):
                dependency = node.module.rsplit(".", 1)[1] + ".py"
                assert dependency in PURE_MODULES or dependency == "failure_map.py", dependency
    assert not imported & FORBIDDEN, imported & FORBIDDEN
