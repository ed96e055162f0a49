"""The probe lab fixture: two namespaces, servers and staged failures (see netns_lab.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .netns_lab import ProbeLab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeLab]:
    probe_lab = ProbeLab(Path(tmp_path_factory.mktemp("probe-lab")))
    try:
        probe_lab.build_network()
        probe_lab.start_servers()
        yield probe_lab
    finally:
        probe_lab.close()
