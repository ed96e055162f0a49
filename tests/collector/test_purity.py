"""The collector's pure pieces import no socket, clock, randomness, sqlite or grpc (STYLE.md rule 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.purity import imported_modules, sibling_modules, top_level

COLLECTOR = Path(__file__).resolve().parents[2] / "collector"
PURE_MODULES = [
    "asn/database.py",
    "asn/formats.py",
    "asn/ipnum.py",
    "asn/rangetable.py",
    "asn/merge.py",
    "targets/files.py",
    "targets/hostnames.py",
    "targets/countries.py",
    "assignment/plan.py",
    "assignment/model.py",
    "assignment/outside_in.py",
    "assignment/inside_out.py",
    "assignment/task_specs.py",
    "assignment/rendezvous.py",
    "verdict/config.py",
    "discovery/__init__.py",
    "discovery/campaigns.py",
    "discovery/census.py",
    "discovery/config.py",
    "discovery/coverage.py",
    "discovery/history.py",
    "discovery/hitlist.py",
    "discovery/plan.py",
    "discovery/policy.py",
    "discovery/selection.py",
    "discovery/space.py",
]
FORBIDDEN = {"socket", "asyncio", "time", "random", "grpc", "sqlite3", "ssl", "selectors", "datetime", "os"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_no_io(module: str) -> None:
    imported = imported_modules(COLLECTOR / module)
    for dependency in sibling_modules(imported, "vantage.collector", COLLECTOR):
        assert dependency in PURE_MODULES, f"{module} imports {dependency}, which is not pure"
    assert not top_level(imported) & FORBIDDEN, top_level(imported) & FORBIDDEN
