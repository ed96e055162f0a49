"""PostgreSQL backend: several collectors on one database (`--db postgresql://...`).

Theory of operation:
- A psycopg 3 connection pool per collector; every interface method is one
  transaction on one pooled connection (the pool commits when the block ends
  without error, rolls back otherwise). With the server's default
  synchronous_commit=on a returned `ingest` is durable, as the ack requires.
- Ingest: binary COPY of the batch into a per-connection temporary staging
  table (ON COMMIT DELETE ROWS), then one INSERT ... SELECT ... ON CONFLICT
  (measurement_id) DO NOTHING. The primary key makes ingest idempotent across
  collectors: a batch re-sent to another collector (failover) inserts nothing
  twice, and the INSERT's row count is the accepted count, so duplicates are
  counted exactly. Rows are inserted in measurement_id order so that two
  collectors ingesting overlapping batches lock keys in the same order and
  cannot deadlock.
- Rounds: `claim_round` first asks the leader lock (postgres_leader.py); only
  the leader claims, under its term, and may take over a round an earlier
  term claimed and never computed. `store_round_result` refuses a result whose
  claim was taken over (fencing), so no round is stored twice.
- Tables live in the connection's current schema (search_path, settable in
  the URL: `?options=-csearch_path%3Dvantage`): one database can hold several
  deployments; the tests use one schema each.
- Migrations are numbered SQL files in migrations/postgresql/ (the same
  numbering as SQLite's), applied under a transaction-level advisory lock so
  collectors starting together migrate once, recorded in schema_migrations.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from vantage.collector.storage.base import Storage, StorageError
from vantage.collector.storage.postgres_leader import (
    LOCK_CLASS,
    MIGRATION_PURPOSE,
    LeaderLock,
    lock_key,
)
from vantage.collector.storage.postgres_rounds import Connection, RoundTables
from vantage.collector.storage.records import (
    CredentialRole,
    EnrollmentToken,
    IngestCounts,
    IssuedTask,
    MeasurementRow,
    ProbeContact,
    ProbeRecord,
    RoundMeasurement,
    RoundRecord,
    RoundResult,
    StoredAsVerdict,
    StoredCountryVerdict,
    StoredEvent,
    TargetRecord,
    TokenStatus,
    UpsertCounts,
)
from vantage.collector.storage.sqlite import MEASUREMENT_COLUMNS, PROBE_COLUMNS, TARGET_COLUMNS
from vantage.collector.storage.sqlite_queries import probe_from_row, target_from_row

log = logging.getLogger("vantage.collector")

# The collector's storage work runs on 4 worker threads (service/app.py), plus
# the leader session; 8 leaves headroom for bursts without crowding a server
# shared by several collectors (PostgreSQL's default max_connections is 100).
DEFAULT_POOL_MAX = 8
DEFAULT_POOL_MIN = 2
# How long to wait for the database at start, and for a free pooled connection.
DEFAULT_CONNECT_TIMEOUT_S = 15.0
# Two collectors ingesting overlapping batches in different orders could still
# meet in a deadlock in exotic cases; the server aborts one, which retries.
INGEST_ATTEMPTS = 3
APPLICATION_NAME = "vantage-collector"

# Binary COPY types, column for column as in MEASUREMENT_COLUMNS and the
# measurements table of migrations/postgresql/0001_initial.sql.
MEASUREMENT_COPY_TYPES = (
    "text", "text", "int8", "text", "text", "text", "int8", "int8", "text", "int4", "int4", "text",
    "float8", "float8", "int4", "text", "int8", "text", "float8", "float8", "bytea",
)  # fmt: skip
STAGING_TABLE = "measurements_staging"
COPY_STAGING = f"COPY {STAGING_TABLE} ({MEASUREMENT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
INSERT_FROM_STAGING = (
    f"INSERT INTO measurements ({MEASUREMENT_COLUMNS}) SELECT {MEASUREMENT_COLUMNS} FROM {STAGING_TABLE} "
    "ORDER BY measurement_id ON CONFLICT (measurement_id) DO NOTHING"
)


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) of every numbered PostgreSQL migration file, in order."""
    folder = resources.files("vantage.collector.storage").joinpath("migrations/postgresql")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _configure(conn: Connection) -> None:
    """Per pooled connection: the temporary staging table for binary COPY."""
    conn.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} (LIKE measurements) ON COMMIT DELETE ROWS"
    )
    conn.commit()


class PostgresStorage(Storage):
    def __init__(
        self,
        dsn: str,
        *,
        pool_min: int = DEFAULT_POOL_MIN,
        pool_max: int = DEFAULT_POOL_MAX,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        self._dsn = dsn
        extra: dict[str, Any] = {}
        if "application_name" not in conninfo_to_dict(dsn):
            extra["application_name"] = APPLICATION_NAME
        self._connect_kwargs = extra
        try:
            self.schema = self._migrate(connect_timeout_s)
        except psycopg.Error as exc:
            raise StorageError(f"cannot prepare the PostgreSQL database: {exc}") from exc
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            dsn,
            min_size=pool_min,
            max_size=pool_max,
            kwargs=extra,
            configure=_configure,
            # One round trip per checkout: after a database restart, dead pooled
            # connections are replaced instead of failing a call each.
            check=ConnectionPool.check_connection,
            timeout=connect_timeout_s,
            open=False,
            name="vantage-collector",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout_s)
        except psycopg.Error as exc:
            self._pool.close()
            raise StorageError(f"cannot connect to PostgreSQL: {exc}") from exc
        self.leader = LeaderLock(
            dsn, self.schema, application_name=extra.get("application_name", APPLICATION_NAME)
        )
        self._rounds = RoundTables(self._tx, self.leader)

    # ------------------------------------------------------------ connections
    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction on a pooled connection; database failures become StorageError."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise StorageError(str(exc)) from exc

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._tx() as conn:
            return conn.execute(sql, params).fetchall()

    def _migrate(self, connect_timeout_s: float) -> str:
        with psycopg.connect(
            self._dsn, connect_timeout=max(1, int(connect_timeout_s)), **self._connect_kwargs
        ) as conn:
            row = conn.execute("SELECT current_schema()").fetchone()
            schema = row[0] if row else None
            if not schema:
                raise StorageError(
                    "the PostgreSQL search_path names no existing schema: create it first "
                    "(CREATE SCHEMA ...) or fix ?options=-csearch_path%3D... in the URL"
                )
            # Collectors starting together: the first migrates, the others wait and find it done.
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, lock_key(schema, MIGRATION_PURPOSE))
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
            )
            applied = {r[0] for r in conn.execute("SELECT version FROM schema_migrations").fetchall()}
            for version, script in migrations():
                if version in applied:
                    continue
                conn.execute(script.encode())  # no parameters: several statements are allowed
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) "
                    "VALUES (%s, EXTRACT(EPOCH FROM now()))",
                    (version,),
                )
                log.info("PostgreSQL schema %s: migration %04d applied", schema, version)
            conn.commit()
            return str(schema)

    def schema_version(self) -> int:
        rows = self._read("SELECT MAX(version) FROM schema_migrations")
        return int(rows[0][0] or 0)

    def close(self) -> None:
        self.leader.close()
        self._pool.close()

    def storage_bytes(self) -> int:
        rows = self._read(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (self.schema,),
        )
        return int(rows[0][0])

    # ------------------------------------------------------------ credentials
    def add_credential(self, credential_hash: str, role: CredentialRole, now_unix_s: float) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO credentials (credential_hash, role, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (credential_hash) DO NOTHING",
                (credential_hash, role.value, now_unix_s),
            )

    def credential_role(self, credential_hash: str) -> CredentialRole | None:
        rows = self._read("SELECT role FROM credentials WHERE credential_hash = %s", (credential_hash,))
        return CredentialRole(rows[0][0]) if rows else None

    # ------------------------------------------------------------ enrollment and probes
    def add_enrollment_token(self, token: EnrollmentToken) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO enrollment_tokens (token_id, token_hash, name, created_at, expires_at, used_at, "
                "used_by_probe) VALUES (%s, %s, %s, %s, %s, %s, %s)",
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
        with self._tx() as conn:
            # FOR UPDATE: concurrent enrollments with one token (on any collector) queue
            # here, and the later ones see it used.
            row = conn.execute(
                "SELECT expires_at, used_at FROM enrollment_tokens WHERE token_hash = %s FOR UPDATE",
                (token_hash,),
            ).fetchone()
            if row is None:
                return TokenStatus.UNKNOWN
            if row[1] is not None:
                return TokenStatus.USED
            if row[0] <= now_unix_s:
                return TokenStatus.EXPIRED
            conn.execute(
                "UPDATE enrollment_tokens SET used_at = %s, used_by_probe = %s WHERE token_hash = %s",
                (now_unix_s, probe.probe_id, token_hash),
            )
            conn.execute(
                f"INSERT INTO probes ({PROBE_COLUMNS}) VALUES ({', '.join(['%s'] * 15)})",
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
                    probe.capability_icmp,
                    probe.capability_ipv6,
                ),
            )
            return TokenStatus.OK

    def get_probe(self, probe_id: str) -> ProbeRecord | None:
        rows = self._read(f"SELECT {PROBE_COLUMNS} FROM probes WHERE probe_id = %s", (probe_id,))
        return probe_from_row(rows[0]) if rows else None

    def probe_by_credential(self, credential_hash: str) -> ProbeRecord | None:
        rows = self._read(
            f"SELECT {PROBE_COLUMNS} FROM probes WHERE credential_hash = %s", (credential_hash,)
        )
        return probe_from_row(rows[0]) if rows else None

    def list_probes(self) -> list[ProbeRecord]:
        rows = self._read(f"SELECT {PROBE_COLUMNS} FROM probes ORDER BY enrolled_at, probe_id")
        return [probe_from_row(row) for row in rows]

    def record_contact(self, contact: ProbeContact) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE probes SET last_contact = GREATEST(COALESCE(last_contact, 0), %s), address = %s, "
                "observed_asn = %s, observed_country = %s, "
                "software_version = CASE WHEN %s = '' THEN software_version ELSE %s END, "
                "capability_icmp = COALESCE(%s::boolean, capability_icmp), "
                "capability_ipv6 = COALESCE(%s::boolean, capability_ipv6) "
                "WHERE probe_id = %s",
                (
                    contact.at_unix_s,
                    contact.address,
                    contact.observed_asn,
                    contact.observed_country,
                    contact.software_version,
                    contact.software_version,
                    contact.capability_icmp,
                    contact.capability_ipv6,
                    contact.probe_id,
                ),
            )

    def revoke_probe(self, probe_id: str, now_unix_s: float) -> ProbeRecord | None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE probes SET revoked_at = COALESCE(revoked_at, %s) WHERE probe_id = %s",
                (now_unix_s, probe_id),
            )
        return self.get_probe(probe_id)

    def pin_probe(self, probe_id: str, asn: int, country: str) -> ProbeRecord | None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE probes SET pinned_asn = %s, pinned_country = %s WHERE probe_id = %s",
                (asn, country, probe_id),
            )
        return self.get_probe(probe_id)

    # ------------------------------------------------------------ targets
    def upsert_targets(self, targets: Sequence[TargetRecord]) -> UpsertCounts:
        imported = updated = 0
        with self._tx() as conn:
            # Imports through two collectors at once merge one after the other.
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, lock_key(self.schema, "targets"))
            )
            for new in targets:
                row = conn.execute(
                    f"SELECT {TARGET_COLUMNS} FROM targets WHERE target_id = %s", (new.target_id,)
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
                    f"INSERT INTO targets ({TARGET_COLUMNS}) VALUES ({', '.join(['%s'] * 10)}) "
                    "ON CONFLICT (target_id) DO UPDATE SET target = EXCLUDED.target, kind = EXCLUDED.kind, "
                    "protocols = EXCLUDED.protocols, country = EXCLUDED.country, asn = EXCLUDED.asn, "
                    "tags = EXCLUDED.tags, source = EXCLUDED.source, address = EXCLUDED.address, "
                    "added_at = EXCLUDED.added_at",
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
        key_list = list(keys)
        with self._tx() as conn:
            cursor = conn.execute(
                "DELETE FROM targets WHERE target_id = ANY(%s) OR target = ANY(%s)", (key_list, key_list)
            )
            return int(cursor.rowcount)

    # ------------------------------------------------------------ work and ingest
    def record_tasks(self, tasks: Sequence[IssuedTask]) -> None:
        if not tasks:
            return
        with self._tx() as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO issued_tasks (task_id, round, probe_id, target_id, kind, protocol) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (task_id) DO NOTHING",
                [(t.task_id, t.round, t.probe_id, t.target_id, t.kind, t.protocol) for t in tasks],
            )

    def ingest(self, probe_id: str, rows: Sequence[MeasurementRow]) -> IngestCounts:
        if not rows:
            return IngestCounts(accepted=0, duplicates=0)
        for attempt in range(1, INGEST_ATTEMPTS + 1):
            try:
                accepted = self._ingest_once(probe_id, rows)
            except StorageError as exc:
                if attempt < INGEST_ATTEMPTS and isinstance(exc.__cause__, pg_errors.DeadlockDetected):
                    continue
                raise
            return IngestCounts(accepted=accepted, duplicates=len(rows) - accepted)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _ingest_once(self, probe_id: str, rows: Sequence[MeasurementRow]) -> int:
        with self._tx() as conn, conn.cursor() as cursor:
            with cursor.copy(COPY_STAGING) as copy:
                copy.set_types(MEASUREMENT_COPY_TYPES)
                for row in rows:
                    copy.write_row(row)
            cursor.execute(INSERT_FROM_STAGING)
            accepted = int(cursor.rowcount)
            if accepted:
                cursor.execute(
                    "UPDATE probes SET results_received = results_received + %s WHERE probe_id = %s",
                    (accepted, probe_id),
                )
            return accepted

    def stored_measurement_ids(self, ids: Collection[str]) -> set[str]:
        rows = self._read(
            "SELECT measurement_id FROM measurements WHERE measurement_id = ANY(%s)", (list(ids),)
        )
        return {row[0] for row in rows}

    def count_measurements(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM measurements")[0][0])

    def round_measurements(self, round_number: int) -> list[RoundMeasurement]:
        rows = self._read(
            "SELECT m.measurement_id, m.probe_id, m.probe_asn, m.probe_country, m.target_id, "
            "m.target_address, m.target_asn, m.protocol, COALESCE(t.kind, 0), m.outcome, m.failure, "
            "m.rtt_ms, m.loss_ratio, m.status_code, m.body_sha256, m.body_length, m.dns_answers "
            "FROM measurements m LEFT JOIN issued_tasks t ON t.task_id = m.task_id "
            "WHERE m.round = %s ORDER BY m.measurement_id",
            (round_number,),
        )
        return [RoundMeasurement(*row) for row in rows]

    def delete_measurements_before(self, cutoff_unix_s: float) -> int:
        with self._tx() as conn:
            deleted = conn.execute(
                "DELETE FROM measurements WHERE started_at < %s", (cutoff_unix_s,)
            ).rowcount
            conn.execute(
                "DELETE FROM issued_tasks WHERE round IN (SELECT number FROM rounds WHERE start < %s)",
                (cutoff_unix_s,),
            )
        return int(deleted)

    # ------------------------------------------------------------ rounds and verdicts
    # The SQL lives in postgres_rounds.py; these delegate.
    def claim_round(self, record: RoundRecord) -> bool:
        return self._rounds.claim_round(record)

    def store_round_result(self, result: RoundResult) -> None:
        self._rounds.store_round_result(result)

    def latest_round(self) -> RoundRecord | None:
        return self._rounds.latest_round()

    def load_engine_state(self) -> bytes | None:
        return self._rounds.load_engine_state()

    def latest_as_verdicts(
        self, *, country: str = "", statuses: Collection[int] = (), after_asn: int = 0, limit: int = 100
    ) -> list[StoredAsVerdict]:
        return self._rounds.latest_as_verdicts(
            country=country, statuses=statuses, after_asn=after_asn, limit=limit
        )

    def latest_as_verdict(self, asn: int) -> StoredAsVerdict | None:
        return self._rounds.latest_as_verdict(asn)

    def latest_country_verdict(self, country: str) -> StoredCountryVerdict | None:
        return self._rounds.latest_country_verdict(country)

    def latest_country_verdicts(self) -> list[StoredCountryVerdict]:
        return self._rounds.latest_country_verdicts()

    def as_timeline(self, asn: int, since_unix_s: float, until_unix_s: float) -> list[StoredAsVerdict]:
        return self._rounds.as_timeline(asn, since_unix_s, until_unix_s)

    def country_timeline(
        self, country: str, since_unix_s: float, until_unix_s: float
    ) -> list[StoredCountryVerdict]:
        return self._rounds.country_timeline(country, since_unix_s, until_unix_s)

    def list_events(
        self,
        *,
        asn: int | None = None,
        country: str | None = None,
        open_only: bool = False,
        updated_round: int | None = None,
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
    ) -> list[StoredEvent]:
        return self._rounds.list_events(
            asn=asn,
            country=country,
            open_only=open_only,
            updated_round=updated_round,
            since_unix_s=since_unix_s,
            until_unix_s=until_unix_s,
        )
