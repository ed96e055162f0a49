"""The probe lab fixture: two namespaces, servers and staged failures (see netns_lab.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .netns_lab import PathLab, ProbeLab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeLab]:
    probe_lab = ProbeLab(Path(tmp_path_factory.mktemp("probe-lab")))
    try:
        probe_lab.build_network()
        probe_lab.start_servers()
        yield probe_lab
    finally:
        probe_lab.close()


@pytest.fixture(scope="module")
def path_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PathLab]:
    """probe - r1 - r2 - r3 - target (netns_lab.PathLab)."""
    lab = PathLab(Path(tmp_path_factory.mktemp("path-lab")))
    try:
        lab.build()
        yield lab
    finally:
        lab.close()
