"""SQLite backend: the embedded default (one file in the collector's data dir).

Theory of operation:
- WAL journal: readers (queries) never block the writer (ingest), and a commit
  is one append to the WAL plus, with synchronous=FULL, one fsync of it.
- synchronous=FULL, not NORMAL: in WAL mode NORMAL already survives a killed
  process (kill -9), but not a power cut — the last commits may be lost, and
  the collector has acked them. FULL costs one WAL fsync per commit, i.e. per
  batch of hundreds of results, so durability is nearly free at batch
  granularity; an acked result survives a crash of the process or the host.
- Group commit for ingest: batches from several streams that arrive while a
  commit is in progress are written together in the next transaction, so one
  fsync makes all of them durable; every caller still returns only after
  the commit that holds its rows.
- One connection per thread (sqlite3 objects must stay on their thread); all
  writes in this process go through one lock, so they queue in Python instead
  of spinning in SQLite's busy handler. `busy_timeout` still covers other
  processes on the same file. Write transactions start with BEGIN IMMEDIATE
  so they never fail half-way on a lock upgrade.
- Migrations are numbered SQL files in migrations/sqlite/, applied in order
  under BEGIN IMMEDIATE (so two collectors starting at once migrate once),
  recorded in schema_migrations.
- The SQL both servers run alike (probes, targets, tasks, verdict queries)
  is SqlStorage's (sql_storage.py, statements in sql_common.py); this module
  keeps what is SQLite's own: connections, group commit, migrations.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from vantage.collector.storage.base import StorageError
from vantage.collector.storage.records import (
    IngestCounts,
    ResultBatchRecord,
    duplicate_items,
)
from vantage.collector.storage.sql_common import (
    AS_VERDICT_COLUMNS,
    COUNTRY_VERDICT_COLUMNS,
    EVENT_COLUMNS,
    PROBE_COLUMNS,
    ROUND_COLUMNS,
    TARGET_COLUMNS,
    numbered_migrations,
    placeholders,
)
from vantage.collector.storage.sqlite_claims import SqliteRounds

# Column lists (defined in sql_common) re-exported from here for older importers.
__all__ = [
    "AS_VERDICT_COLUMNS",
    "COUNTRY_VERDICT_COLUMNS",
    "EVENT_COLUMNS",
    "PROBE_COLUMNS",
    "ROUND_COLUMNS",
    "TARGET_COLUMNS",
    "SqliteStorage",
    "migrations",
]

# Wait this long for another process's write lock before failing (ms). Several
# collectors on one file are a test setup; a batch commit takes milliseconds.
DEFAULT_BUSY_TIMEOUT_MS = 10_000

# A batch's ids in one statement from its one blob of 16-byte ids: SQLite cuts the blob
# itself (a recursive CTE over the offsets), so Python binds one parameter instead of one
# per id. Binding is done holding the GIL, and the collector's main process is GIL-bound
# (bench/ingest.py); the insert itself runs with the GIL released. Measured: 2.2-2.5 us per
# id, against 2.5-2.8 for a 1000-row VALUES list and 4.1 for executemany of one-row inserts.
INSERT_IDS_FROM_BLOB = (
    "WITH RECURSIVE offsets(o) AS (SELECT 0 UNION ALL SELECT o + 16 FROM offsets WHERE o + 16 < length(?1)) "
    "INSERT OR IGNORE INTO measurement_ids (measurement_id) SELECT substr(?1, o + 1, 16) FROM offsets"
)
# Schema 0002 turned 0001's per-result rows into batches: that data step runs right after it.
V1_CONVERSION_VERSION = 2


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) of every numbered migration file, in order."""
    return numbered_migrations("sqlite")


def _statements(script: str) -> Iterator[str]:
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending[:80]!r}")


class _IngestJob:
    __slots__ = ("batch", "outcome")

    def __init__(self, batch: ResultBatchRecord) -> None:
        self.batch = batch
        self.outcome: IngestCounts | BaseException | None = None


class SqliteStorage(SqliteRounds):
    RECORD_CONTACT = (
        "UPDATE probes SET last_contact = MAX(COALESCE(last_contact, 0), ?), address = ?, "
        "observed_asn = ?, observed_country = ?, "
        "software_version = CASE WHEN ? = '' THEN software_version ELSE ? END, "
        "capability_icmp = COALESCE(?, capability_icmp), "
        "capability_ipv6 = COALESCE(?, capability_ipv6) "
        "WHERE probe_id = ?"
    )
    UPSERT_TARGET = f"INSERT OR REPLACE INTO targets ({TARGET_COLUMNS}) VALUES ({placeholders(10)})"
    STORE_EVENT = f"INSERT OR REPLACE INTO events ({EVENT_COLUMNS}) VALUES ({placeholders(10)})"

    def __init__(self, path: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: list[_IngestJob] = []
        self._closed = False
        self._migrate()

    # ------------------------------------------------------------ connections
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise StorageError("storage is closed")
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")  # see the module docstring for why FULL
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE under the process-wide write lock (see the module docstring)."""
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(str(exc)) from exc

    def _executemany(self, conn: Any, sql: str, rows: Iterable[Sequence[object]]) -> None:
        conn.executemany(sql, rows)

    def _migrate(self) -> None:
        with self._tx() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, script in migrations():
                if version in applied:
                    continue
                for statement in _statements(script):
                    conn.execute(statement)
                if version == V1_CONVERSION_VERSION:
                    self._convert_v1_measurements(conn)
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) "
                    "VALUES (?, CAST(strftime('%s', 'now') AS REAL))",
                    (version,),
                )

    def close(self) -> None:
        self._closed = True
        with self._connections_lock:
            for conn in self._connections:
                with suppress(sqlite3.ProgrammingError):  # its thread is gone; nothing left to release
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    def storage_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            candidate = Path(str(self.path) + suffix)
            if candidate.exists():
                total += candidate.stat().st_size
        return total

    # ------------------------------------------------------------ what differs from PostgreSQL
    def remove_targets(self, keys: Collection[str]) -> int:
        removed = 0
        with self._tx() as conn:
            for key in set(keys):
                self._decline_removed(conn, "target_id = ? OR target = ?", (key, key))
                removed += conn.execute(
                    "DELETE FROM targets WHERE target_id = ? OR target = ?", (key, key)
                ).rowcount
        return removed

    def ingest(self, batch: ResultBatchRecord) -> IngestCounts:
        """Group commit: batches arriving while another commits share the next transaction
        (one WAL fsync for all of them); each caller returns only after its batch is durable."""
        if not batch.items:
            return IngestCounts(accepted=0, duplicates=0)
        job = _IngestJob(batch)
        with self._pending_lock:
            self._pending.append(job)
        conn = self._conn()
        with self._write_lock:
            if job.outcome is None:
                with self._pending_lock:
                    group, self._pending = self._pending, []
                self._commit_group(conn, group)
        if isinstance(job.outcome, BaseException):
            raise StorageError(str(job.outcome)) from job.outcome
        assert job.outcome is not None
        return job.outcome

    def _commit_group(self, conn: sqlite3.Connection, group: list[_IngestJob]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                counts = [self._ingest_one(conn, job.batch) for job in group]
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            for job in group:
                job.outcome = exc
            return
        for job, count in zip(group, counts, strict=True):
            job.outcome = count

    def _ingest_one(self, conn: sqlite3.Connection, batch: ResultBatchRecord) -> IngestCounts:
        """One batch inside the group's transaction. Fast path: every id is new, which the
        inserts' row counts tell (a conflict adds 0). Otherwise the ids go back out and the
        duplicates are found by lookup, then only the new ids go in."""
        ids = batch.measurement_ids
        conn.execute("SAVEPOINT batch_ids")
        skipped: tuple[int, ...] = ()
        before = conn.total_changes
        conn.execute(INSERT_IDS_FROM_BLOB, (ids,))
        if conn.total_changes - before != batch.items:
            conn.execute("ROLLBACK TO batch_ids")
            keys = batch.ids()
            skipped = duplicate_items(ids, self._stored_keys(conn.execute, keys))
            dropped = set(skipped)
            new = b"".join(key for n, key in enumerate(keys) if n not in dropped)
            if new:
                conn.execute(INSERT_IDS_FROM_BLOB, (new,))
        conn.execute("RELEASE batch_ids")
        accepted = self._store_batch(conn, batch, skipped)
        return IngestCounts(accepted=accepted, duplicates=len(skipped))
