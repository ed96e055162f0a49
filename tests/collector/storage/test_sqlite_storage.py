"""SQLite specifics: WAL, synchronous=FULL, numbered migrations, data surviving a reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.collector.batches import batch_of, measurement_of
from tests.collector.storage_contract import enrolled, row
from vantage.collector.storage.sqlite import SqliteStorage, migrations
from vantage.collector.wire.measurements import round_measurements


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
    storage.ingest(batch_of(rows))
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


def test_results_stored_by_schema_1_are_converted_into_batches(tmp_path: Path) -> None:
    """A collector upgraded from schema 0001 keeps every result: its rows become batches
    whose decoded measurements are the stored payloads, byte for byte."""
    path = tmp_path / "old.sqlite3"
    (version, script), *_ = migrations()
    assert version == 1
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)")
    conn.execute("INSERT INTO schema_migrations VALUES (1, 0)")
    rows = [row(round_number=7 + n % 2) for n in range(5)]
    for r in rows:
        m = measurement_of(r)
        conn.execute(
            f"INSERT INTO measurements VALUES ({', '.join('?' * 21)})",
            (*r[:20], m.SerializeToString()),
        )
    conn.commit()
    conn.close()
    storage = SqliteStorage(path)
    try:
        assert storage.count_measurements() == 5
        assert storage.stored_measurement_ids([r.measurement_id for r in rows]) == {
            r.measurement_id for r in rows
        }
        got = round_measurements(storage.round_batches(7), 7, {})
        assert sorted(m.measurement_id for m in got) == sorted(r.measurement_id for r in rows[::2])
        assert {(m.target_asn, m.probe_asn, m.probe_country) for m in got} == {(64500, 64501, "NL")}
        tables = {t for (t,) in storage._read("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "measurements_v1" not in tables and "measurements" not in tables
    finally:
        storage.close()
