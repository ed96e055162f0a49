"""SQLite specifics: WAL, synchronous=FULL, numbered migrations, data surviving a reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.collector.storage_contract import enrolled, row
from vantage.collector.storage.sqlite import SqliteStorage, migrations


def test_migrations_are_numbered_and_applied_once(tmp_path: Path) -> None:
    versions = [version for version, _ in migrations()]
    assert versions == sorted(set(versions)) and versions[0] == 1
    path = tmp_path / "c.sqlite3"
    SqliteStorage(path).close()
    storage = SqliteStorage(path)  # second open: nothing to apply, no error
    try:
        assert storage.schema_version() == versions[-1]
    finally:
        storage.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(versions)


def test_wal_and_full_sync(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "c.sqlite3")
    try:
        conn = storage._conn()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        storage.close()


def test_committed_rows_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    storage = SqliteStorage(path)
    enrolled(storage)
    rows = [row() for _ in range(10)]
    storage.ingest("p1", rows)
    storage.close()
    reopened = SqliteStorage(path)
    try:
        assert reopened.stored_measurement_ids([r.measurement_id for r in rows]) == {
            r.measurement_id for r in rows
        }
        probe = reopened.get_probe("p1")
        assert probe is not None and probe.results_received == 10
    finally:
        reopened.close()
