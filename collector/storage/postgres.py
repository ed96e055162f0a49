"""PostgreSQL backend: several collectors on one database (`--db postgresql://...`).

Theory of operation:
- A psycopg 3 connection pool per collector; every interface method is one
  transaction on one pooled connection (the pool commits when the block ends
  without error, rolls back otherwise). With the server's default
  synchronous_commit=on a returned `ingest` is durable, as the ack requires.
- Ingest: one row per batch (schema 0002, docs/ingest.md) and its ids in one
  INSERT ... SELECT FROM unnest(array) ON CONFLICT DO NOTHING RETURNING. The
  primary key of measurement_ids makes ingest idempotent across collectors: a
  batch re-sent to another collector (failover) stores nothing twice, and
  RETURNING names the ids that went in, so duplicates are counted exactly.
  Ids are inserted in order so that two collectors ingesting overlapping
  batches lock keys in the same order and cannot deadlock.
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
- The SQL both servers run alike (probes, targets, tasks, verdict queries)
  is SqlStorage's (sql_storage.py, written with `?`, turned into `%s` by
  `_sql`); this module keeps the pool, ingest, migrations and the
  dialect statements (row locks, upserts, array parameters).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from vantage.collector.storage.base import StorageError
from vantage.collector.storage.postgres_claims import Connection, PostgresRounds
from vantage.collector.storage.postgres_leader import (
    LOCK_CLASS,
    MIGRATION_PURPOSE,
    LeaderLock,
    lock_key,
)
from vantage.collector.storage.records import (
    IngestCounts,
    ResultBatchRecord,
    duplicate_items,
)
from vantage.collector.storage.sql_common import (
    EVENT_COLUMNS,
    TARGET_COLUMNS,
    numbered_migrations,
    pyformat,
)

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

# Every new id of a batch in one statement (an array parameter); RETURNING names the ids that
# went in, so the duplicates are known without a second query. Sorted, so that two collectors
# inserting overlapping batches take their index locks in the same order.
INSERT_MEASUREMENT_IDS = (
    "INSERT INTO measurement_ids (measurement_id) SELECT id FROM unnest(%s::bytea[]) AS t(id) "
    "ORDER BY id ON CONFLICT DO NOTHING RETURNING measurement_id"
)
# Schema 0002 turned 0001's per-result rows into batches: that data step runs right after it.
V1_CONVERSION_VERSION = 2


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) of every numbered PostgreSQL migration file, in order."""
    return numbered_migrations("postgresql")


class PostgresStorage(PostgresRounds):
    FOR_UPDATE = " FOR UPDATE"
    RECORD_CONTACT = (
        "UPDATE probes SET last_contact = GREATEST(COALESCE(last_contact, 0), ?), address = ?, "
        "observed_asn = ?, observed_country = ?, "
        "software_version = CASE WHEN ? = '' THEN software_version ELSE ? END, "
        "capability_icmp = COALESCE(?::boolean, capability_icmp), "
        "capability_ipv6 = COALESCE(?::boolean, capability_ipv6) "
        "WHERE probe_id = ?"
    )
    UPSERT_TARGET = (
        f"INSERT INTO targets ({TARGET_COLUMNS}) VALUES ({', '.join('?' * 10)}) "
        "ON CONFLICT (target_id) DO UPDATE SET target = EXCLUDED.target, kind = EXCLUDED.kind, "
        "protocols = EXCLUDED.protocols, country = EXCLUDED.country, asn = EXCLUDED.asn, "
        "tags = EXCLUDED.tags, source = EXCLUDED.source, address = EXCLUDED.address, "
        "added_at = EXCLUDED.added_at"
    )
    STORE_EVENT = (
        f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 10)}) "
        "ON CONFLICT (event_id) DO UPDATE SET kind = EXCLUDED.kind, asn = EXCLUDED.asn, "
        "country = EXCLUDED.country, started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, "
        "opened_round = EXCLUDED.opened_round, updated_round = EXCLUDED.updated_round, "
        "payload = EXCLUDED.payload, mechanism = EXCLUDED.mechanism"
    )

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

    def _executemany(self, conn: Any, sql: str, rows: Iterable[Sequence[object]]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(sql, rows)

    def _sql(self, sql: str) -> str:
        return pyformat(sql)

    def _in(self, column: str, values: Collection[object]) -> tuple[str, list[object]]:
        # One array parameter instead of an IN list: one statement text whatever the count.
        return f"{column} = ANY(?)", [list(values)]

    def _lock_targets(self, conn: Any) -> None:
        # Imports through two collectors at once merge one after the other.
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, lock_key(self.schema, "targets")))

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
                if version == V1_CONVERSION_VERSION:
                    self._convert_v1_measurements(conn)
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) "
                    "VALUES (%s, EXTRACT(EPOCH FROM now()))",
                    (version,),
                )
                log.info("PostgreSQL schema %s: migration %04d applied", schema, version)
            conn.commit()
            return str(schema)

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

    # ------------------------------------------------------------ what differs from SQLite
    def remove_targets(self, keys: Collection[str]) -> int:
        key_list = list(keys)
        with self._tx() as conn:
            self._decline_removed(conn, "target_id = ANY(%s) OR target = ANY(%s)", (key_list, key_list))
            cursor = conn.execute(
                "DELETE FROM targets WHERE target_id = ANY(%s) OR target = ANY(%s)", (key_list, key_list)
            )
            return int(cursor.rowcount)

    def ingest(self, batch: ResultBatchRecord) -> IngestCounts:
        if not batch.items:
            return IngestCounts(accepted=0, duplicates=0)
        for attempt in range(1, INGEST_ATTEMPTS + 1):
            try:
                return self._ingest_once(batch)
            except StorageError as exc:
                if attempt < INGEST_ATTEMPTS and isinstance(exc.__cause__, pg_errors.DeadlockDetected):
                    continue
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _ingest_once(self, batch: ResultBatchRecord) -> IngestCounts:
        ids = batch.measurement_ids
        keys = batch.ids()
        with self._tx() as conn:
            inserted = {bytes(row[0]) for row in conn.execute(INSERT_MEASUREMENT_IDS, (keys,)).fetchall()}
            skipped: tuple[int, ...] = ()
            if len(inserted) != len(keys):
                skipped = duplicate_items(ids, set(keys) - inserted)
            accepted = self._store_batch(conn, batch, skipped)
        return IngestCounts(accepted=accepted, duplicates=len(skipped))
