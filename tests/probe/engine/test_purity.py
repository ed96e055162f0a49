"""The pure step modules import no socket, clock, randomness, scapy or grpc (STYLE.md rule 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.purity import imported_modules, sibling_modules, top_level

ENGINE = Path(__file__).resolve().parents[3] / "probe" / "engine"
PURE_MODULES = [
    "model.py",
    "icmp/packets.py",
    "icmp/session.py",
    "icmp/schedule.py",
    "icmp/reports.py",
    "lanes.py",
    "dns/step.py",
    "http/step.py",
    "pacing.py",
]
FORBIDDEN = {"socket", "asyncio", "time", "random", "scapy", "grpc", "sqlite3", "ssl", "selectors"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_no_io(module: str) -> None:
    imported = imported_modules(ENGINE / module)
    for dependency in sibling_modules(imported, "vantage.probe.engine", ENGINE):
        assert dependency in PURE_MODULES or dependency == "failure_map.py", dependency
    assert not top_level(imported) & FORBIDDEN, top_level(imported) & FORBIDDEN
