"""Shared test fixtures and the skip rules for tests that need privileges."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Real-world datasets beside the project (never copied into it).
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _netns_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root for network namespaces (ip netns); CI runs as root"
    if shutil.which("ip") is None:
        return "needs iproute2 (the `ip` command)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`ip netns` is not usable here: {probe.stderr.strip()}"
    return None


NETNS_UNAVAILABLE = _netns_unavailable_reason()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if NETNS_UNAVAILABLE is None:
        return
    skip = pytest.mark.skip(reason=NETNS_UNAVAILABLE)
    for item in items:
        if "netns" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder, or a skip saying why it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not present at {SHARED_DATA} (only in the project's workplace)")
    return SHARED_DATA
