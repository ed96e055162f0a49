"""The half of the SQL backends that is the same on SQLite and PostgreSQL.

`SqlStorage` implements every interface method whose SQL and row mapping
both servers share; a backend subclass supplies only what truly differs:
its transaction (`_tx`), reads (`_read`), placeholder style (`_sql`),
`executemany` (`_executemany`) and a few dialect statements (class
attributes below). Round claims and result storage, ingest, retention of
target keys and id lookups stay in the backends: their SQL or locking is
not the same on the two servers.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from vantage.collector.storage import sql_batches as qb
from vantage.collector.storage import sql_common as q
from vantage.collector.storage.base import StorageError
from vantage.collector.storage.records import (
    DISCOVERY_SOURCE,
    BlockHistoryRecord,
    CampaignRecord,
    CredentialRole,
    EnrollmentToken,
    IssuedTarget,
    IssuedTask,
    ProbeContact,
    ProbeRecord,
    ResultBatchRecord,
    RoundRecord,
    RoundResult,
    StoredAsVerdict,
    StoredCountryVerdict,
    StoredEvent,
    TargetRecord,
    TokenStatus,
    UpsertCounts,
    measurement_id_bytes,
    measurement_id_text,
    merge_target,
)
from vantage.collector.storage.sql_revisions import SqlRevisions


class SqlStorage(SqlRevisions):
    # ------------------------------------------------------------ what a backend supplies
    # Appended to the token SELECT of enroll_probe: a row lock where the server has them
    # (SQLite's write transaction already excludes every other writer).
    FOR_UPDATE = ""
    # Probe contact: "latest wins" and "NULL keeps the stored capability" are spelled per server.
    RECORD_CONTACT = ""
    # Insert-or-replace of one target row, TARGET_COLUMNS order.
    UPSERT_TARGET = ""
    # Insert-or-replace of one event row, EVENT_COLUMNS order.
    STORE_EVENT = ""

    @abc.abstractmethod
    def _tx(self) -> AbstractContextManager[Any]:
        """One write transaction; yields the connection (sqlite3 or psycopg: both have .execute)."""

    @abc.abstractmethod
    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    @abc.abstractmethod
    def _executemany(self, conn: Any, sql: str, rows: Iterable[Sequence[object]]) -> None: ...

    def _sql(self, sql: str) -> str:
        """A shared statement (written with `?`) in this backend's placeholder style."""
        return sql

    def _in(self, column: str, values: Collection[object]) -> tuple[str, list[object]]:
        """`column` is one of `values`: a condition and its parameters (SQLite: an IN list)."""
        return f"{column} IN ({q.placeholders(len(values))})", list(values)

    def _lock_targets(self, conn: Any) -> None:
        """Serialize concurrent target imports (no-op: SQLite writers are serialized already)."""

    def _select(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self._read(self._sql(sql), params)

    # ------------------------------------------------------------ credentials
    def add_credential(self, credential_hash: str, role: CredentialRole, now_unix_s: float) -> None:
        with self._tx() as conn:
            conn.execute(self._sql(q.INSERT_CREDENTIAL), (credential_hash, role.value, now_unix_s))

    def credential_role(self, credential_hash: str) -> CredentialRole | None:
        rows = self._select("SELECT role FROM credentials WHERE credential_hash = ?", (credential_hash,))
        return CredentialRole(rows[0][0]) if rows else None

    # ------------------------------------------------------------ enrollment and probes
    def add_enrollment_token(self, token: EnrollmentToken) -> None:
        with self._tx() as conn:
            conn.execute(
                self._sql(q.INSERT_TOKEN),
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
            # Concurrent enrollments with one token queue here (row lock or the single
            # writer), and the later ones see it used.
            row = conn.execute(
                self._sql(
                    "SELECT expires_at, used_at, used_by_probe FROM enrollment_tokens"
                    f" WHERE token_hash = ?{self.FOR_UPDATE}"
                ),
                (token_hash,),
            ).fetchone()
            if row is None:
                return TokenStatus.UNKNOWN
            if row[1] is not None:
                # The same probe retrying (same proposed credential) after a crash: it is enrolled.
                same = conn.execute(
                    self._sql("SELECT 1 FROM probes WHERE probe_id = ? AND credential_hash = ?"),
                    (row[2], probe.credential_hash),
                ).fetchone()
                return TokenStatus.OK if same is not None else TokenStatus.USED
            if row[0] <= now_unix_s:
                return TokenStatus.EXPIRED
            conn.execute(
                self._sql("UPDATE enrollment_tokens SET used_at = ?, used_by_probe = ? WHERE token_hash = ?"),
                (now_unix_s, probe.probe_id, token_hash),
            )
            conn.execute(self._sql(q.INSERT_PROBE), q.probe_params(probe))
            return TokenStatus.OK

    def get_probe(self, probe_id: str) -> ProbeRecord | None:
        rows = self._select(f"SELECT {q.PROBE_COLUMNS} FROM probes WHERE probe_id = ?", (probe_id,))
        return q.probe_from_row(rows[0]) if rows else None

    def probe_by_credential(self, credential_hash: str) -> ProbeRecord | None:
        rows = self._select(
            f"SELECT {q.PROBE_COLUMNS} FROM probes WHERE credential_hash = ?", (credential_hash,)
        )
        return q.probe_from_row(rows[0]) if rows else None

    def list_probes(self) -> list[ProbeRecord]:
        rows = self._select(f"SELECT {q.PROBE_COLUMNS} FROM probes ORDER BY enrolled_at, probe_id")
        return [q.probe_from_row(row) for row in rows]

    def record_contact(self, contact: ProbeContact) -> None:
        with self._tx() as conn:
            conn.execute(
                self._sql(self.RECORD_CONTACT),
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
                self._sql("UPDATE probes SET revoked_at = COALESCE(revoked_at, ?) WHERE probe_id = ?"),
                (now_unix_s, probe_id),
            )
        return self.get_probe(probe_id)

    def pin_probe(self, probe_id: str, asn: int, country: str) -> ProbeRecord | None:
        with self._tx() as conn:
            conn.execute(
                self._sql("UPDATE probes SET pinned_asn = ?, pinned_country = ? WHERE probe_id = ?"),
                (asn, country, probe_id),
            )
        return self.get_probe(probe_id)

    # ------------------------------------------------------------ targets
    def upsert_targets(self, targets: Sequence[TargetRecord]) -> UpsertCounts:
        imported = updated = 0
        select = self._sql(f"SELECT {q.TARGET_COLUMNS} FROM targets WHERE target_id = ?")
        upsert = self._sql(self.UPSERT_TARGET)
        with self._tx() as conn:
            self._lock_targets(conn)
            for new in targets:
                row = conn.execute(select, (new.target_id,)).fetchone()
                if row is None:
                    merged = new
                    imported += 1
                else:
                    merged = merge_target(q.target_from_row(row), new)
                    updated += 1
                conn.execute(upsert, q.target_params(merged))
        return UpsertCounts(imported=imported, updated=updated)

    def list_targets(self) -> list[TargetRecord]:
        rows = self._select(f"SELECT {q.TARGET_COLUMNS} FROM targets ORDER BY target_id")
        return [q.target_from_row(row) for row in rows]

    # ------------------------------------------------------------ work and measurements
    def record_tasks(self, tasks: Sequence[IssuedTask]) -> None:
        if not tasks:
            return
        with self._tx() as conn:
            self._executemany(
                conn,
                self._sql(q.INSERT_TASK),
                [(t.task_id, t.round, t.probe_id, t.target_id, t.kind, t.protocol, t.address) for t in tasks],
            )

    def issued_task_targets(self, probe_id: str, task_ids: Collection[str]) -> dict[str, IssuedTarget]:
        wanted = list(task_ids)
        found: dict[str, IssuedTarget] = {}
        for start in range(0, len(wanted), 500):  # the primary key; under SQLite's parameter limit
            condition, params = self._in("task_id", wanted[start : start + 500])
            rows = self._select(
                "SELECT task_id, round, protocol, target_id, address FROM issued_tasks"
                f" WHERE probe_id = ? AND {condition}",
                [probe_id, *params],
            )
            found.update(
                (str(row[0]), IssuedTarget(int(row[1]), int(row[2]), str(row[3]), str(row[4])))
                for row in rows
            )
        return found

    def count_measurements(self) -> int:
        return int(self._select(qb.COUNT_RESULTS)[0][0])

    def stored_measurement_ids(self, ids: Collection[str]) -> set[str]:
        keys = set()
        for text in ids:
            try:
                keys.add(measurement_id_bytes(text))
            except ValueError:
                continue  # not a UUID: never stored
        return {measurement_id_text(key) for key in self._stored_keys(self._read, list(keys))}

    def _stored_keys(
        self, run: Callable[[str, Sequence[object]], Iterable[Sequence[Any]]], keys: Sequence[bytes]
    ) -> set[bytes]:
        """Which of these 16-byte ids are in measurement_ids, read through `run` (a read
        outside a transaction, or the ingest transaction's connection)."""
        found: set[bytes] = set()
        for start in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
            condition, params = self._in("measurement_id", keys[start : start + 500])
            rows = run(self._sql(f"SELECT measurement_id FROM measurement_ids WHERE {condition}"), params)
            found.update(bytes(row[0]) for row in rows)
        return found

    def round_batches(self, round_number: int) -> list[ResultBatchRecord]:
        return [qb.batch_from_row(row) for row in self._select(qb.SELECT_ROUND_BATCHES, (round_number,))]

    def result_batches(self, after_key: int = 0, limit: int = 1000) -> list[ResultBatchRecord]:
        rows = self._select(qb.SELECT_BATCHES_AFTER, (after_key, limit))
        return [qb.batch_from_row(row) for row in rows]

    def task_kinds(self, round_number: int) -> dict[str, int]:
        return {row[0]: int(row[1]) for row in self._select(qb.SELECT_TASK_KINDS, (round_number,))}

    def _store_batch(self, conn: Any, batch: ResultBatchRecord, skipped: tuple[int, ...]) -> int:
        """Insert a batch's row, its rounds and the probe's count (the caller stored the ids and
        found the duplicates); returns how many results it accepted."""
        accepted = batch.items - len(skipped)
        if accepted:
            self._insert_batch_row(conn, batch, skipped)
            conn.execute(self._sql(qb.ADD_RESULTS_RECEIVED), (accepted, batch.probe_id))
        return accepted

    def _insert_batch_row(self, conn: Any, batch: ResultBatchRecord, skipped: tuple[int, ...]) -> None:
        row = conn.execute(
            self._sql(qb.INSERT_BATCH + " RETURNING batch_key"), qb.batch_params(batch, skipped)
        ).fetchone()
        for round_number in batch.rounds:
            conn.execute(self._sql(qb.INSERT_BATCH_ROUND), (round_number, int(row[0])))

    def delete_measurements_before(self, cutoff_unix_s: float) -> int:
        with self._tx() as conn:
            rows = conn.execute(self._sql(qb.SELECT_EXPIRED_BATCHES), (cutoff_unix_s,)).fetchall()
            dropped = 0
            for batch in map(qb.batch_from_row, rows):
                stored = batch.stored_ids()
                self._executemany(conn, self._sql(qb.DELETE_ID), [(key,) for key in stored])
                conn.execute(self._sql(qb.DELETE_BATCH_ROUNDS), (batch.batch_key,))
                conn.execute(self._sql(qb.DELETE_BATCH), (batch.batch_key,))
                dropped += len(stored)
            conn.execute(
                self._sql(
                    "DELETE FROM issued_tasks WHERE round IN (SELECT number FROM rounds WHERE start < ?)"
                ),
                (cutoff_unix_s,),
            )
        return dropped

    def _convert_v1_measurements(self, conn: Any) -> int:
        """Migration 0002's data step, inside its transaction: schema 0001's per-result rows
        become batches (no result is lost, none is decoded), then the old table goes."""
        converted = 0
        rows = conn.execute(self._sql(qb.SELECT_V1_MEASUREMENTS)).fetchall()
        for batch in qb.batches_from_v1_rows(rows):
            ids = [(key,) for key in batch.ids()]
            self._executemany(conn, self._sql("INSERT INTO measurement_ids (measurement_id) VALUES (?)"), ids)
            self._insert_batch_row(conn, batch, ())  # results_received already counted them
            converted += batch.items
        conn.execute("DROP TABLE measurements_v1")
        return converted

    def schema_version(self) -> int:
        rows = self._select("SELECT MAX(version) FROM schema_migrations")
        return int(rows[0][0] or 0)

    # ------------------------------------------------------------ rounds, verdicts and events
    def _store_verdict_rows(
        self, conn: Any, result: RoundResult, events_known_at: float | None = None
    ) -> None:
        """A round's verdicts (history and latest) and events, inside the caller's transaction;
        a first computation and a revision (sql_revisions.py) write them alike. The versions of
        events they replace are kept as the answer until `events_known_at` (default: the
        round's computed_at)."""
        known_at = events_known_at
        if known_at is None:
            known_at = result.round.computed_at_unix_s or result.round.claimed_at_unix_s
        self._archive_events(conn, result.events, known_at)
        as_rows = [q.as_verdict_params(v) for v in result.as_verdicts]
        country_rows = [q.country_verdict_params(v) for v in result.country_verdicts]
        for sql, rows in (
            (q.STORE_AS_VERDICT, as_rows),
            (q.STORE_LATEST_AS_VERDICT, as_rows),
            (q.STORE_COUNTRY_VERDICT, country_rows),
            (q.STORE_LATEST_COUNTRY_VERDICT, country_rows),
            (self.STORE_EVENT, [q.event_params(e) for e in result.events]),
        ):
            if rows:
                self._executemany(conn, self._sql(sql), rows)

    def _archive_events(self, conn: Any, events: Sequence[StoredEvent], known_at: float) -> None:
        """Keep the stored versions `events` replace (schema 7); an event not stored yet gets an
        empty-payload version: not known before `known_at`."""
        if not events:
            return
        condition, values = self._in("event_id", [e.event_id for e in events])
        stored = {
            row[0]: row
            for row in conn.execute(
                self._sql(f"SELECT {q.EVENT_COLUMNS} FROM events WHERE {condition}"), values
            ).fetchall()
        }
        rows = []
        for e in events:
            old = stored.get(e.event_id)
            if old is None:
                rows.append((known_at, *q.event_params(dataclasses.replace(e, payload=b""))))
            elif bytes(old[8]) != e.payload:
                rows.append((known_at, *old))
        if rows:
            self._executemany(conn, self._sql(q.ARCHIVE_EVENT), rows)

    def _store_verdicts(self, conn: Any, result: RoundResult) -> None:
        """The part of storing a round that both servers spell alike: verdicts (history and
        latest), events and the engine state, inside the caller's transaction."""
        self._store_verdict_rows(conn, result)
        number = result.round.number
        if result.engine_state:
            conn.execute(self._sql(q.STORE_ENGINE_STATE), (result.engine_state, number))
        stored = [(key, number, data) for key, data in result.engine_rows if data is not None]
        deleted = [(key, number) for key, data in result.engine_rows if data is None]
        if stored:
            self._executemany(conn, self._sql(q.STORE_ENGINE_ROW), stored)
        if deleted:
            self._executemany(conn, self._sql(q.DELETE_ENGINE_ROW), deleted)
        self._store_history(conn, number, result.engine_rows)

    def latest_round(self) -> RoundRecord | None:
        rows = self._select(
            f"SELECT {q.ROUND_COLUMNS} FROM rounds WHERE computed_at IS NOT NULL ORDER BY number DESC LIMIT 1"
        )
        return q.round_from_row(rows[0]) if rows else None

    def load_engine_state(self) -> bytes | None:
        rows = self._select("SELECT state FROM engine_state WHERE singleton = 1")
        return bytes(rows[0][0]) if rows else None

    def load_engine_rows(self) -> dict[str, bytes]:
        rows = self._select("SELECT row_key, state FROM engine_state_rows")
        return {key: bytes(data) for key, data in rows}

    def latest_as_verdicts(
        self, *, country: str = "", statuses: Collection[int] = (), after_asn: int = 0, limit: int = 100
    ) -> list[StoredAsVerdict]:
        where = ["asn > ?"]
        params: list[object] = [after_asn]
        if country:
            where.append("country = ?")
            params.append(country)
        if statuses:
            condition, values = self._in("status", statuses)
            where.append(condition)
            params.extend(values)
        params.append(limit)
        rows = self._select(
            f"SELECT {q.AS_VERDICT_COLUMNS} FROM latest_as_verdicts WHERE {' AND '.join(where)} "
            "ORDER BY asn LIMIT ?",
            params,
        )
        return [q.as_verdict_from_row(row) for row in rows]

    def latest_as_verdict(self, asn: int) -> StoredAsVerdict | None:
        rows = self._select(f"SELECT {q.AS_VERDICT_COLUMNS} FROM latest_as_verdicts WHERE asn = ?", (asn,))
        return q.as_verdict_from_row(rows[0]) if rows else None

    def latest_country_verdict(self, country: str) -> StoredCountryVerdict | None:
        rows = self._select(
            f"SELECT {q.COUNTRY_VERDICT_COLUMNS} FROM latest_country_verdicts WHERE country = ?", (country,)
        )
        return q.country_verdict_from_row(rows[0]) if rows else None

    def latest_country_verdicts(self) -> list[StoredCountryVerdict]:
        rows = self._select(
            f"SELECT {q.COUNTRY_VERDICT_COLUMNS} FROM latest_country_verdicts ORDER BY country"
        )
        return [q.country_verdict_from_row(row) for row in rows]

    def as_timeline(self, asn: int, since_unix_s: float, until_unix_s: float) -> list[StoredAsVerdict]:
        rows = self._select(
            f"SELECT {q.AS_VERDICT_COLUMNS} FROM as_verdicts "
            "WHERE asn = ? AND round_start >= ? AND round_start < ? ORDER BY round",
            (asn, since_unix_s, until_unix_s),
        )
        return [q.as_verdict_from_row(row) for row in rows]

    def country_timeline(
        self, country: str, since_unix_s: float, until_unix_s: float
    ) -> list[StoredCountryVerdict]:
        rows = self._select(
            f"SELECT {q.COUNTRY_VERDICT_COLUMNS} FROM country_verdicts "
            "WHERE country = ? AND round_start >= ? AND round_start < ? ORDER BY round",
            (country, since_unix_s, until_unix_s),
        )
        return [q.country_verdict_from_row(row) for row in rows]

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
        where = ["1 = 1"]
        params: list[object] = []
        if asn is not None:
            where.append("asn = ?")
            params.append(asn)
        if country is not None:
            where.append("country = ?")
            params.append(country)
        if open_only:
            where.append("ended_at IS NULL")
        if updated_round is not None:
            where.append("updated_round = ?")
            params.append(updated_round)
        if since_unix_s is not None:
            where.append("(ended_at IS NULL OR ended_at > ?)")
            params.append(since_unix_s)
        if until_unix_s is not None:
            where.append("started_at < ?")
            params.append(until_unix_s)
        rows = self._select(
            f"SELECT {q.EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY started_at, event_id",
            params,
        )
        return [q.event_from_row(row) for row in rows]

    # ------------------------------------------------------------ target discovery
    def add_campaign(self, campaign: CampaignRecord) -> None:
        try:
            with self._tx() as conn:
                conn.execute(self._sql(q.INSERT_CAMPAIGN), q.campaign_params(campaign))
        except StorageError:
            raise
        except Exception as exc:  # a duplicate id: the server's integrity error
            raise StorageError(f"campaign {campaign.campaign_id}: {exc}") from exc

    def list_campaigns(self) -> list[CampaignRecord]:
        rows = self._select(
            f"SELECT {q.CAMPAIGN_COLUMNS} FROM discovery_campaigns ORDER BY created_at, campaign_id"
        )
        return [q.campaign_from_row(row) for row in rows]

    def cancel_campaign(self, campaign_id: str, now_unix_s: float) -> CampaignRecord | None:
        with self._tx() as conn:
            conn.execute(
                self._sql(
                    "UPDATE discovery_campaigns SET cancelled_at = COALESCE(cancelled_at, ?) "
                    "WHERE campaign_id = ?"
                ),
                (now_unix_s, campaign_id),
            )
        rows = self._select(
            f"SELECT {q.CAMPAIGN_COLUMNS} FROM discovery_campaigns WHERE campaign_id = ?", (campaign_id,)
        )
        return q.campaign_from_row(rows[0]) if rows else None

    def store_blocks(self, blocks: Sequence[BlockHistoryRecord]) -> None:
        if not blocks:
            return
        with self._tx() as conn:
            self._executemany(conn, self._sql(q.STORE_BLOCK), [q.block_params(b) for b in blocks])

    def load_blocks(self, keys: Collection[str]) -> dict[str, BlockHistoryRecord]:
        wanted = sorted(set(keys))
        found: dict[str, BlockHistoryRecord] = {}
        for start in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
            condition, params = self._in("block", wanted[start : start + 500])
            rows = self._select(f"SELECT {q.BLOCK_COLUMNS} FROM block_histories WHERE {condition}", params)
            for row in rows:
                block = q.block_from_row(row)
                found[block.block] = block
        return found

    def list_blocks(self, *, asns: Collection[int] | None = None) -> list[BlockHistoryRecord]:
        if asns is None:
            rows = self._select(f"SELECT {q.BLOCK_COLUMNS} FROM block_histories ORDER BY block")
        else:
            wanted = sorted(set(asns))
            if not wanted:
                return []
            condition, params = self._in("asn", wanted)
            rows = self._select(
                f"SELECT {q.BLOCK_COLUMNS} FROM block_histories WHERE {condition} ORDER BY block", params
            )
        return [q.block_from_row(row) for row in rows]

    def sync_discovered_targets(
        self, targets: Sequence[TargetRecord], retire: Collection[str]
    ) -> UpsertCounts:
        imported = updated = 0
        select = self._sql("SELECT source, added_at FROM targets WHERE target_id = ?")
        declined = self._sql("SELECT 1 FROM declined_targets WHERE target_id = ?")
        upsert = self._sql(self.UPSERT_TARGET)
        with self._tx() as conn:
            self._lock_targets(conn)
            for new in targets:
                if conn.execute(declined, (new.target_id,)).fetchone() is not None:
                    continue  # the operator removed it
                row = conn.execute(select, (new.target_id,)).fetchone()
                if row is None:
                    imported += 1
                elif row[0] == DISCOVERY_SOURCE:
                    updated += 1
                    new = dataclasses.replace(new, added_at_unix_s=float(row[1]))
                else:
                    continue  # hand-imported: it wins
                conn.execute(upsert, q.target_params(new))
            delete = self._sql("DELETE FROM targets WHERE target_id = ? AND source = ?")
            self._executemany(conn, delete, [(key, DISCOVERY_SOURCE) for key in sorted(set(retire))])
        return UpsertCounts(imported=imported, updated=updated)

    def declined_targets(self) -> set[str]:
        return {row[0] for row in self._select("SELECT target FROM declined_targets")}

    def _decline_removed(self, conn: Any, where: str, params: Sequence[object]) -> None:
        """Inside remove_targets' transaction, before the delete: remember the discovered targets
        about to go (`where` selects them in the backend's placeholder style)."""
        conn.execute(
            "INSERT INTO declined_targets (target_id, target) "
            f"SELECT target_id, target FROM targets WHERE ({where}) AND source = '{DISCOVERY_SOURCE}' "
            "ON CONFLICT (target_id) DO NOTHING",
            params,
        )
