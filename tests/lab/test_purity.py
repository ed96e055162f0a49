"""The lab's logic modules stay pure: no processes, sockets, clocks or randomness imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.purity import imported_modules, top_level

LAB = Path(__file__).resolve().parents[2] / "lab"
PURE_MODULES = (
    "topology",
    "scenario",
    "dataplane",
    "datasets",
    "report",
    "views",
    "runner",
    "chart",
    "responders",
)
FORBIDDEN = {"socket", "subprocess", "time", "random", "os", "grpc", "sqlite3", "threading", "asyncio"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_module_imports_no_io(module: str) -> None:
    imported = top_level(imported_modules(LAB / f"{module}.py"))
    assert not imported & FORBIDDEN, f"{module} imports {sorted(imported & FORBIDDEN)}"
