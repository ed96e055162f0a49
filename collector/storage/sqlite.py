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
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any

from vantage.collector.storage.base import Storage, StorageError
from vantage.collector.storage.records import (
    CredentialRole,
    EnrollmentToken,
    IngestCounts,
    IssuedTask,
    MeasurementRow,
    ProbeContact,
    ProbeRecord,
    RoundMeasurement,
    TargetRecord,
    TokenStatus,
    UpsertCounts,
)
from vantage.collector.storage.sqlite_queries import probe_from_row, target_from_row
from vantage.collector.storage.sqlite_rounds import (
    AS_VERDICT_COLUMNS,
    COUNTRY_VERDICT_COLUMNS,
    EVENT_COLUMNS,
    ROUND_COLUMNS,
    SqliteRounds,
)

# Column lists shared with the PostgreSQL backend, re-exported from here.
__all__ = [
    "AS_VERDICT_COLUMNS",
    "COUNTRY_VERDICT_COLUMNS",
    "EVENT_COLUMNS",
    "INSERT_MEASUREMENT",
    "MEASUREMENT_COLUMNS",
    "PROBE_COLUMNS",
    "ROUND_COLUMNS",
    "TARGET_COLUMNS",
    "SqliteStorage",
    "migrations",
]

# Wait this long for another process's write lock before failing (ms). Several
# collectors on one file are a test setup; a batch commit takes milliseconds.
DEFAULT_BUSY_TIMEOUT_MS = 10_000

MEASUREMENT_COLUMNS = (
    "measurement_id, probe_id, round, task_id, target_id, target_address, target_asn, probe_asn, "
    "probe_country, protocol, outcome, failure, rtt_ms, loss_ratio, status_code, body_sha256, "
    "body_length, dns_answers, started_at, received_at, payload"
)
INSERT_MEASUREMENT = (
    f"INSERT INTO measurements ({MEASUREMENT_COLUMNS}) VALUES ({', '.join('?' * 21)}) "
    "ON CONFLICT (measurement_id) DO NOTHING"
)
PROBE_COLUMNS = (
    "probe_id, name, credential_hash, enrolled_at, observed_asn, observed_country, pinned_asn, "
    "pinned_country, address, last_contact, results_received, revoked_at, software_version, "
    "capability_icmp, capability_ipv6"
)
TARGET_COLUMNS = "target_id, target, kind, protocols, country, asn, tags, source, address, added_at"


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) of every numbered migration file, in order."""
    folder = resources.files("vantage.collector.storage").joinpath("migrations/sqlite")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


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
    __slots__ = ("outcome", "probe_id", "rows")

    def __init__(self, probe_id: str, rows: Sequence[MeasurementRow]) -> None:
        self.probe_id = probe_id
        self.rows = rows
        self.outcome: IngestCounts | BaseException | None = None


class SqliteStorage(SqliteRounds, Storage):
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
    def _write(self) -> Iterator[sqlite3.Connection]:
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

    def _migrate(self) -> None:
        with self._write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, script in migrations():
                if version in applied:
                    continue
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) "
                    "VALUES (?, CAST(strftime('%s', 'now') AS REAL))",
                    (version,),
                )

    def schema_version(self) -> int:
        rows = self._read("SELECT MAX(version) FROM schema_migrations")
        return int(rows[0][0] or 0)

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

    # ------------------------------------------------------------ credentials
    def add_credential(self, credential_hash: str, role: CredentialRole, now_unix_s: float) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO credentials (credential_hash, role, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (credential_hash) DO NOTHING",
                (credential_hash, role.value, now_unix_s),
            )

    def credential_role(self, credential_hash: str) -> CredentialRole | None:
        rows = self._read("SELECT role FROM credentials WHERE credential_hash = ?", (credential_hash,))
        return CredentialRole(rows[0][0]) if rows else None

    # ------------------------------------------------------------ enrollment and probes
    def add_enrollment_token(self, token: EnrollmentToken) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO enrollment_tokens (token_id, token_hash, name, created_at, expires_at, used_at, "
                "used_by_probe) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    token.token_id,
                    token.token_hash,
                    token.name,
                    token.created_at_unix_s,
                    token.expires_at_unix_s,
                    token.used_at_unix_s,
                    token.used_by_probe,
                ),
            )

    def enroll_probe(self, token_hash: str, probe: ProbeRecord, now_unix_s: float) -> TokenStatus:
        with self._write() as conn:
            row = conn.execute(
                "SELECT expires_at, used_at FROM enrollment_tokens WHERE token_hash = ?", (token_hash,)
            ).fetchone()
            if row is None:
                return TokenStatus.UNKNOWN
            if row[1] is not None:
                return TokenStatus.USED
            if row[0] <= now_unix_s:
                return TokenStatus.EXPIRED
            conn.execute(
                "UPDATE enrollment_tokens SET used_at = ?, used_by_probe = ? WHERE token_hash = ?",
                (now_unix_s, probe.probe_id, token_hash),
            )
            conn.execute(
                f"INSERT INTO probes ({PROBE_COLUMNS}) VALUES ({', '.join('?' * 15)})",
                (
                    probe.probe_id,
                    probe.name,
                    probe.credential_hash,
                    probe.enrolled_at_unix_s,
                    probe.observed_asn,
                    probe.observed_country,
                    probe.pinned_asn,
                    probe.pinned_country,
                    probe.address,
                    probe.last_contact_unix_s,
                    probe.results_received,
                    probe.revoked_at_unix_s,
                    probe.software_version,
                    int(probe.capability_icmp),
                    int(probe.capability_ipv6),
                ),
            )
            return TokenStatus.OK

    def get_probe(self, probe_id: str) -> ProbeRecord | None:
        rows = self._read(f"SELECT {PROBE_COLUMNS} FROM probes WHERE probe_id = ?", (probe_id,))
        return probe_from_row(rows[0]) if rows else None

    def probe_by_credential(self, credential_hash: str) -> ProbeRecord | None:
        rows = self._read(f"SELECT {PROBE_COLUMNS} FROM probes WHERE credential_hash = ?", (credential_hash,))
        return probe_from_row(rows[0]) if rows else None

    def list_probes(self) -> list[ProbeRecord]:
        rows = self._read(f"SELECT {PROBE_COLUMNS} FROM probes ORDER BY enrolled_at, probe_id")
        return [probe_from_row(row) for row in rows]

    def record_contact(self, contact: ProbeContact) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE probes SET last_contact = MAX(COALESCE(last_contact, 0), ?), address = ?, "
                "observed_asn = ?, observed_country = ?, "
                "software_version = CASE WHEN ? = '' THEN software_version ELSE ? END, "
                "capability_icmp = COALESCE(?, capability_icmp), "
                "capability_ipv6 = COALESCE(?, capability_ipv6) "
                "WHERE probe_id = ?",
                (
                    contact.at_unix_s,
                    contact.address,
                    contact.observed_asn,
                    contact.observed_country,
                    contact.software_version,
                    contact.software_version,
                    None if contact.capability_icmp is None else int(contact.capability_icmp),
                    None if contact.capability_ipv6 is None else int(contact.capability_ipv6),
                    contact.probe_id,
                ),
            )

    def revoke_probe(self, probe_id: str, now_unix_s: float) -> ProbeRecord | None:
        with self._write() as conn:
            conn.execute(
                "UPDATE probes SET revoked_at = COALESCE(revoked_at, ?) WHERE probe_id = ?",
                (now_unix_s, probe_id),
            )
        return self.get_probe(probe_id)

    def pin_probe(self, probe_id: str, asn: int, country: str) -> ProbeRecord | None:
        with self._write() as conn:
            conn.execute(
                "UPDATE probes SET pinned_asn = ?, pinned_country = ? WHERE probe_id = ?",
                (asn, country, probe_id),
            )
        return self.get_probe(probe_id)

    # ------------------------------------------------------------ targets
    def upsert_targets(self, targets: Sequence[TargetRecord]) -> UpsertCounts:
        imported = updated = 0
        with self._write() as conn:
            for new in targets:
                row = conn.execute(
                    f"SELECT {TARGET_COLUMNS} FROM targets WHERE target_id = ?",
                    (new.target_id,),
                ).fetchone()
                if row is None:
                    merged = new
                    imported += 1
                else:
                    old = target_from_row(row)
                    merged = TargetRecord(
                        target_id=old.target_id,
                        target=old.target,
                        kind=new.kind,
                        protocols=tuple(sorted(set(old.protocols) | set(new.protocols))),
                        country=new.country or old.country,
                        asn=new.asn or old.asn,
                        tags=tuple(dict.fromkeys(old.tags + new.tags)),
                        source=new.source or old.source,
                        address=new.address or old.address,
                        added_at_unix_s=old.added_at_unix_s,
                    )
                    updated += 1
                conn.execute(
                    "INSERT OR REPLACE INTO targets (target_id, target, kind, protocols, country, asn, tags, "
                    "source, address, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        merged.target_id,
                        merged.target,
                        merged.kind,
                        json.dumps(list(merged.protocols)),
                        merged.country,
                        merged.asn,
                        json.dumps(list(merged.tags)),
                        merged.source,
                        merged.address,
                        merged.added_at_unix_s,
                    ),
                )
        return UpsertCounts(imported=imported, updated=updated)

    def list_targets(self) -> list[TargetRecord]:
        rows = self._read(f"SELECT {TARGET_COLUMNS} FROM targets ORDER BY target_id")
        return [target_from_row(row) for row in rows]

    def remove_targets(self, keys: Collection[str]) -> int:
        removed = 0
        with self._write() as conn:
            for key in set(keys):
                removed += conn.execute(
                    "DELETE FROM targets WHERE target_id = ? OR target = ?", (key, key)
                ).rowcount
        return removed

    # ------------------------------------------------------------ work and ingest
    def record_tasks(self, tasks: Sequence[IssuedTask]) -> None:
        if not tasks:
            return
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO issued_tasks (task_id, round, probe_id, target_id, kind, protocol) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (task_id) DO NOTHING",
                [(t.task_id, t.round, t.probe_id, t.target_id, t.kind, t.protocol) for t in tasks],
            )

    def ingest(self, probe_id: str, rows: Sequence[MeasurementRow]) -> IngestCounts:
        """Group commit: batches arriving while another commits share the next transaction
        (one WAL fsync for all of them); each caller returns only after its rows are durable."""
        if not rows:
            return IngestCounts(accepted=0, duplicates=0)
        job = _IngestJob(probe_id, rows)
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

    @staticmethod
    def _commit_group(conn: sqlite3.Connection, group: list[_IngestJob]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                counts = []
                for job in group:
                    # executemany sums the changes of every row: conflicts add 0.
                    accepted = conn.executemany(INSERT_MEASUREMENT, job.rows).rowcount
                    if accepted:
                        conn.execute(
                            "UPDATE probes SET results_received = results_received + ? WHERE probe_id = ?",
                            (accepted, job.probe_id),
                        )
                    counts.append(IngestCounts(accepted=accepted, duplicates=len(job.rows) - accepted))
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

    def stored_measurement_ids(self, ids: Collection[str]) -> set[str]:
        found: set[str] = set()
        id_list = list(ids)
        for start in range(0, len(id_list), 500):  # stay under SQLite's bound-parameter limit
            chunk = id_list[start : start + 500]
            rows = self._read(
                "SELECT measurement_id FROM measurements "
                f"WHERE measurement_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update(row[0] for row in rows)
        return found

    def count_measurements(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM measurements")[0][0])

    def round_measurements(self, round_number: int) -> list[RoundMeasurement]:
        rows = self._read(
            "SELECT m.measurement_id, m.probe_id, m.probe_asn, m.probe_country, m.target_id, "
            "m.target_address, "
            "m.target_asn, m.protocol, COALESCE(t.kind, 0), m.outcome, m.failure, m.rtt_ms, m.loss_ratio, "
            "m.status_code, m.body_sha256, m.body_length, m.dns_answers "
            "FROM measurements m LEFT JOIN issued_tasks t ON t.task_id = m.task_id "
            "WHERE m.round = ? ORDER BY m.measurement_id",
            (round_number,),
        )
        return [RoundMeasurement(*row) for row in rows]

    def delete_measurements_before(self, cutoff_unix_s: float) -> int:
        with self._write() as conn:
            deleted = conn.execute("DELETE FROM measurements WHERE started_at < ?", (cutoff_unix_s,)).rowcount
            conn.execute(
                "DELETE FROM issued_tasks WHERE round IN (SELECT number FROM rounds WHERE start < ?)",
                (cutoff_unix_s,),
            )
        return int(deleted)
