"""PostgreSQL rounds, verdicts and events (the half of PostgresStorage after ingest).

Claims go through the leader lock (postgres_leader.py): only the leader claims
a round, under its term. A round claimed in an earlier term and never
computed (the old leader died mid-round) is taken over; a result whose claim
was taken over in the meantime is refused, so no round is stored twice.
The rest mirrors the SQLite backend's SQL with PostgreSQL placeholders.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from vantage.collector.storage.base import StorageError
from vantage.collector.storage.postgres_leader import LeaderLock
from vantage.collector.storage.records import (
    RoundRecord,
    RoundResult,
    StoredAsVerdict,
    StoredCountryVerdict,
    StoredEvent,
)
from vantage.collector.storage.sqlite import (
    AS_VERDICT_COLUMNS,
    COUNTRY_VERDICT_COLUMNS,
    EVENT_COLUMNS,
    ROUND_COLUMNS,
)
from vantage.collector.storage.sqlite_queries import (
    as_verdict_from_row,
    country_verdict_from_row,
    event_from_row,
    round_from_row,
)

log = logging.getLogger("vantage.collector")

Connection = psycopg.Connection[tuple[Any, ...]]
Transaction = Callable[[], AbstractContextManager[Connection]]

CLAIM_ROUND = (
    "INSERT INTO rounds (number, start, length_s, computed_by, claimed_at, leader_term) "
    "VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (number) DO UPDATE SET start = EXCLUDED.start, length_s = EXCLUDED.length_s, "
    "computed_by = EXCLUDED.computed_by, claimed_at = EXCLUDED.claimed_at, "
    "leader_term = EXCLUDED.leader_term "
    "WHERE rounds.computed_at IS NULL AND rounds.leader_term <> EXCLUDED.leader_term "
    "RETURNING (xmax = 0) AS inserted"
)
STORE_ROUND = (
    f"INSERT INTO rounds ({ROUND_COLUMNS}, leader_term) VALUES ({', '.join(['%s'] * 11)}) "
    "ON CONFLICT (number) DO UPDATE SET start = EXCLUDED.start, length_s = EXCLUDED.length_s, "
    "computed_by = EXCLUDED.computed_by, claimed_at = EXCLUDED.claimed_at, "
    "computed_at = EXCLUDED.computed_at, observations = EXCLUDED.observations, "
    "suspect_probes = EXCLUDED.suspect_probes, offline_probes = EXCLUDED.offline_probes, "
    "algorithm_version = EXCLUDED.algorithm_version, leader_term = EXCLUDED.leader_term"
)
_AS_SET = (
    "round = EXCLUDED.round, round_start = EXCLUDED.round_start, country = EXCLUDED.country, "
    "status = EXCLUDED.status, confidence = EXCLUDED.confidence, belief = EXCLUDED.belief, "
    "reachability_ratio = EXCLUDED.reachability_ratio, payload = EXCLUDED.payload"
)
_AS_INSERT = (
    "INSERT INTO {table} (asn, round, round_start, country, status, confidence, belief, "
    "reachability_ratio, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
)
STORE_AS_VERDICT = (
    _AS_INSERT.format(table="as_verdicts") + f"ON CONFLICT (asn, round) DO UPDATE SET {_AS_SET}"
)
# The latest-verdict tables never move back to an older round stored late.
STORE_LATEST_AS_VERDICT = (
    _AS_INSERT.format(table="latest_as_verdicts")
    + f"ON CONFLICT (asn) DO UPDATE SET {_AS_SET} WHERE EXCLUDED.round >= latest_as_verdicts.round"
)
_COUNTRY_SET = (
    "round = EXCLUDED.round, round_start = EXCLUDED.round_start, status = EXCLUDED.status, "
    "confidence = EXCLUDED.confidence, reachability_ratio = EXCLUDED.reachability_ratio, "
    "payload = EXCLUDED.payload"
)
_COUNTRY_INSERT = (
    "INSERT INTO {table} (country, round, round_start, status, confidence, reachability_ratio, payload) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) "
)
STORE_COUNTRY_VERDICT = (
    _COUNTRY_INSERT.format(table="country_verdicts")
    + f"ON CONFLICT (country, round) DO UPDATE SET {_COUNTRY_SET}"
)
STORE_LATEST_COUNTRY_VERDICT = (
    _COUNTRY_INSERT.format(table="latest_country_verdicts")
    + f"ON CONFLICT (country) DO UPDATE SET {_COUNTRY_SET} "
    "WHERE EXCLUDED.round >= latest_country_verdicts.round"
)
STORE_EVENT = (
    f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join(['%s'] * 9)}) "
    "ON CONFLICT (event_id) DO UPDATE SET kind = EXCLUDED.kind, asn = EXCLUDED.asn, "
    "country = EXCLUDED.country, started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, "
    "opened_round = EXCLUDED.opened_round, updated_round = EXCLUDED.updated_round, payload = EXCLUDED.payload"
)
STORE_ENGINE_STATE = (
    "INSERT INTO engine_state (singleton, state, round) VALUES (1, %s, %s) ON CONFLICT (singleton) "
    "DO UPDATE SET state = EXCLUDED.state, round = EXCLUDED.round WHERE EXCLUDED.round >= engine_state.round"
)


class RoundTables:
    def __init__(self, transaction: Transaction, leader: LeaderLock) -> None:
        self._tx = transaction
        self._leader = leader

    def _read(self, sql: str, params: Collection[object] = ()) -> list[tuple[Any, ...]]:
        with self._tx() as conn:
            return conn.execute(sql, tuple(params)).fetchall()

    # ------------------------------------------------------------ claims and results
    def claim_round(self, record: RoundRecord) -> bool:
        term = self._leader.term()
        if term is None:
            return False  # another collector is the leader
        with self._tx() as conn:
            row = conn.execute(
                CLAIM_ROUND,
                (
                    record.number,
                    record.start_unix_s,
                    record.length_s,
                    record.computed_by,
                    record.claimed_at_unix_s,
                    term,
                ),
            ).fetchone()
        if row is None:
            return False
        if not row[0]:
            log.warning(
                "round %d was claimed by an earlier leader and never computed: taking it over",
                record.number,
            )
        return True

    def store_round_result(self, result: RoundResult) -> None:
        record = result.round
        term = self._leader.held_term() or ""
        with self._tx() as conn:
            claimed = conn.execute(
                "SELECT leader_term FROM rounds WHERE number = %s FOR UPDATE", (record.number,)
            ).fetchone()
            if claimed is not None and claimed[0] and claimed[0] != term:
                # Fencing: a newer leader took the round over while we computed it.
                raise StorageError(
                    f"round {record.number} was taken over by another collector; this result is dropped"
                )
            conn.execute(
                STORE_ROUND,
                (
                    record.number,
                    record.start_unix_s,
                    record.length_s,
                    record.computed_by,
                    record.claimed_at_unix_s,
                    record.computed_at_unix_s,
                    record.observations,
                    json.dumps(list(record.suspect_probes)),
                    json.dumps(list(record.offline_probes)),
                    record.algorithm_version,
                    term,
                ),
            )
            with conn.cursor() as cursor:
                as_rows = [
                    (v.asn, v.round, v.round_start_unix_s, v.country, v.status, v.confidence, v.belief,
                     v.reachability_ratio, v.payload)
                    for v in result.as_verdicts
                ]  # fmt: skip
                country_rows = [
                    (v.country, v.round, v.round_start_unix_s, v.status, v.confidence, v.reachability_ratio,
                     v.payload)
                    for v in result.country_verdicts
                ]  # fmt: skip
                event_rows = [
                    (e.event_id, e.kind, e.asn, e.country, e.started_at_unix_s, e.ended_at_unix_s,
                     e.opened_round, e.updated_round, e.payload)
                    for e in result.events
                ]  # fmt: skip
                for sql, rows in (
                    (STORE_AS_VERDICT, as_rows),
                    (STORE_LATEST_AS_VERDICT, as_rows),
                    (STORE_COUNTRY_VERDICT, country_rows),
                    (STORE_LATEST_COUNTRY_VERDICT, country_rows),
                    (STORE_EVENT, event_rows),
                ):
                    if rows:
                        cursor.executemany(sql, rows)
            conn.execute(STORE_ENGINE_STATE, (result.engine_state, record.number))

    def latest_round(self) -> RoundRecord | None:
        rows = self._read(
            f"SELECT {ROUND_COLUMNS} FROM rounds WHERE computed_at IS NOT NULL ORDER BY number DESC LIMIT 1"
        )
        return round_from_row(rows[0]) if rows else None

    def load_engine_state(self) -> bytes | None:
        rows = self._read("SELECT state FROM engine_state WHERE singleton = 1")
        return bytes(rows[0][0]) if rows else None

    # ------------------------------------------------------------ verdict queries
    def latest_as_verdicts(
        self, *, country: str = "", statuses: Collection[int] = (), after_asn: int = 0, limit: int = 100
    ) -> list[StoredAsVerdict]:
        where = ["asn > %s"]
        params: list[object] = [after_asn]
        if country:
            where.append("country = %s")
            params.append(country)
        if statuses:
            where.append("status = ANY(%s)")
            params.append(list(statuses))
        params.append(limit)
        rows = self._read(
            f"SELECT {AS_VERDICT_COLUMNS} FROM latest_as_verdicts WHERE {' AND '.join(where)} "
            "ORDER BY asn LIMIT %s",
            params,
        )
        return [as_verdict_from_row(row) for row in rows]

    def latest_as_verdict(self, asn: int) -> StoredAsVerdict | None:
        rows = self._read(f"SELECT {AS_VERDICT_COLUMNS} FROM latest_as_verdicts WHERE asn = %s", (asn,))
        return as_verdict_from_row(rows[0]) if rows else None

    def latest_country_verdict(self, country: str) -> StoredCountryVerdict | None:
        rows = self._read(
            f"SELECT {COUNTRY_VERDICT_COLUMNS} FROM latest_country_verdicts WHERE country = %s", (country,)
        )
        return country_verdict_from_row(rows[0]) if rows else None

    def latest_country_verdicts(self) -> list[StoredCountryVerdict]:
        rows = self._read(f"SELECT {COUNTRY_VERDICT_COLUMNS} FROM latest_country_verdicts ORDER BY country")
        return [country_verdict_from_row(row) for row in rows]

    def as_timeline(self, asn: int, since_unix_s: float, until_unix_s: float) -> list[StoredAsVerdict]:
        rows = self._read(
            f"SELECT {AS_VERDICT_COLUMNS} FROM as_verdicts "
            "WHERE asn = %s AND round_start >= %s AND round_start < %s ORDER BY round",
            (asn, since_unix_s, until_unix_s),
        )
        return [as_verdict_from_row(row) for row in rows]

    def country_timeline(
        self, country: str, since_unix_s: float, until_unix_s: float
    ) -> list[StoredCountryVerdict]:
        rows = self._read(
            f"SELECT {COUNTRY_VERDICT_COLUMNS} FROM country_verdicts "
            "WHERE country = %s AND round_start >= %s AND round_start < %s ORDER BY round",
            (country, since_unix_s, until_unix_s),
        )
        return [country_verdict_from_row(row) for row in rows]

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
        where = ["TRUE"]
        params: list[object] = []
        if asn is not None:
            where.append("asn = %s")
            params.append(asn)
        if country is not None:
            where.append("country = %s")
            params.append(country)
        if open_only:
            where.append("ended_at IS NULL")
        if updated_round is not None:
            where.append("updated_round = %s")
            params.append(updated_round)
        if since_unix_s is not None:
            where.append("(ended_at IS NULL OR ended_at > %s)")
            params.append(since_unix_s)
        if until_unix_s is not None:
            where.append("started_at < %s")
            params.append(until_unix_s)
        rows = self._read(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY started_at, event_id",
            params,
        )
        return [event_from_row(row) for row in rows]
