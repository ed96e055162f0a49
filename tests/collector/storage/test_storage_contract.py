"""Runs the storage contract (storage_contract.py) against every backend.

To add a backend, add one entry to BACKENDS: a name and a factory taking a
scratch directory (mark it, e.g. `postgres`, when it needs a server).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.collector.storage_contract import *  # noqa: F403  (the contract's tests)
from tests.scaleout.pg import contract_backend as postgres_backend
from vantage.collector.storage.base import Storage
from vantage.collector.storage.memory import MemoryStorage
from vantage.collector.storage.sqlite import SqliteStorage

BACKENDS: dict[str, tuple[Callable[[Path], Storage], tuple[pytest.MarkDecorator, ...]]] = {
    "memory": (lambda _: MemoryStorage(), ()),
    "sqlite": (lambda folder: SqliteStorage(folder / "collector.sqlite3"), ()),
    "postgres": (postgres_backend, (pytest.mark.postgres,)),
}


@pytest.fixture(params=[pytest.param(name, marks=marks) for name, (_, marks) in BACKENDS.items()])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    factory, _ = BACKENDS[request.param]
    backend = factory(tmp_path)
    try:
        yield backend
    finally:
        backend.close()
