"""SQLite backend, part two: rounds, verdicts and events (mixed into SqliteStorage).

Each AS's and country's latest verdict is kept in its own table by the same
transaction that stores the round, so "status of every AS" is one indexed
scan; an older round stored late never replaces a newer latest verdict.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import Any

from vantage.collector.storage.records import (
    RoundRecord,
    RoundResult,
    StoredAsVerdict,
    StoredCountryVerdict,
    StoredEvent,
)
from vantage.collector.storage.sqlite_queries import (
    as_verdict_from_row,
    country_verdict_from_row,
    event_from_row,
    round_from_row,
)

AS_VERDICT_COLUMNS = (
    "round, round_start, asn, country, status, confidence, belief, reachability_ratio, payload"
)
COUNTRY_VERDICT_COLUMNS = "round, round_start, country, status, confidence, reachability_ratio, payload"
EVENT_COLUMNS = "event_id, kind, asn, country, started_at, ended_at, opened_round, updated_round, payload"
ROUND_COLUMNS = (
    "number, start, length_s, computed_by, claimed_at, computed_at, observations, suspect_probes, "
    "offline_probes, algorithm_version"
)


class SqliteRounds:
    """The round and verdict half of SqliteStorage; relies on its _write/_read."""

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def claim_round(self, record: RoundRecord) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                f"INSERT INTO rounds ({ROUND_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, 0, '[]', '[]', '') "
                "ON CONFLICT (number) DO NOTHING",
                (
                    record.number,
                    record.start_unix_s,
                    record.length_s,
                    record.computed_by,
                    record.claimed_at_unix_s,
                ),
            )
            return cursor.rowcount == 1

    def store_round_result(self, result: RoundResult) -> None:
        record = result.round
        with self._write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO rounds ({ROUND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                ),
            )
            as_rows = [
                (v.asn, v.round, v.round_start_unix_s, v.country, v.status, v.confidence, v.belief,
                 v.reachability_ratio, v.payload)
                for v in result.as_verdicts
            ]  # fmt: skip
            for table in ("as_verdicts", "latest_as_verdicts"):
                guard = "" if table == "as_verdicts" else " WHERE excluded.round >= latest_as_verdicts.round"
                conflict = "(asn, round)" if table == "as_verdicts" else "(asn)"
                conn.executemany(
                    f"INSERT INTO {table} (asn, round, round_start, country, status, confidence, belief, "
                    "reachability_ratio, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    f"ON CONFLICT {conflict} DO UPDATE SET round = excluded.round, "
                    "round_start = excluded.round_start, country = excluded.country, "
                    "status = excluded.status, "
                    "confidence = excluded.confidence, belief = excluded.belief, "
                    f"reachability_ratio = excluded.reachability_ratio, payload = excluded.payload{guard}",
                    as_rows,
                )
            country_rows = [
                (
                    v.country,
                    v.round,
                    v.round_start_unix_s,
                    v.status,
                    v.confidence,
                    v.reachability_ratio,
                    v.payload,
                )
                for v in result.country_verdicts
            ]
            for table in ("country_verdicts", "latest_country_verdicts"):
                guard = (
                    ""
                    if table == "country_verdicts"
                    else " WHERE excluded.round >= latest_country_verdicts.round"
                )
                conflict = "(country, round)" if table == "country_verdicts" else "(country)"
                conn.executemany(
                    f"INSERT INTO {table} (country, round, round_start, status, confidence, "
                    "reachability_ratio, "
                    f"payload) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT {conflict} DO UPDATE SET "
                    "round = excluded.round, round_start = excluded.round_start, status = excluded.status, "
                    "confidence = excluded.confidence, reachability_ratio = excluded.reachability_ratio, "
                    f"payload = excluded.payload{guard}",
                    country_rows,
                )
            conn.executemany(
                f"INSERT OR REPLACE INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (e.event_id, e.kind, e.asn, e.country, e.started_at_unix_s, e.ended_at_unix_s,
                     e.opened_round,
                     e.updated_round, e.payload)
                    for e in result.events
                ],
            )  # fmt: skip
            conn.execute(
                "INSERT INTO engine_state (singleton, state, round) VALUES (1, ?, ?) ON CONFLICT (singleton) "
                "DO UPDATE SET state = excluded.state, round = excluded.round "
                "WHERE excluded.round >= engine_state.round",
                (result.engine_state, record.number),
            )

    def latest_round(self) -> RoundRecord | None:
        rows = self._read(
            f"SELECT {ROUND_COLUMNS} FROM rounds WHERE computed_at IS NOT NULL ORDER BY number DESC LIMIT 1"
        )
        return round_from_row(rows[0]) if rows else None

    def load_engine_state(self) -> bytes | None:
        rows = self._read("SELECT state FROM engine_state WHERE singleton = 1")
        return bytes(rows[0][0]) if rows else None

    def latest_as_verdicts(
        self, *, country: str = "", statuses: Collection[int] = (), after_asn: int = 0, limit: int = 100
    ) -> list[StoredAsVerdict]:
        where = ["asn > ?"]
        params: list[object] = [after_asn]
        if country:
            where.append("country = ?")
            params.append(country)
        if statuses:
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            params.extend(statuses)
        params.append(limit)
        rows = self._read(
            f"SELECT {AS_VERDICT_COLUMNS} FROM latest_as_verdicts WHERE {' AND '.join(where)} "
            "ORDER BY asn LIMIT ?",
            params,
        )
        return [as_verdict_from_row(row) for row in rows]

    def latest_as_verdict(self, asn: int) -> StoredAsVerdict | None:
        rows = self._read(f"SELECT {AS_VERDICT_COLUMNS} FROM latest_as_verdicts WHERE asn = ?", (asn,))
        return as_verdict_from_row(rows[0]) if rows else None

    def latest_country_verdict(self, country: str) -> StoredCountryVerdict | None:
        rows = self._read(
            f"SELECT {COUNTRY_VERDICT_COLUMNS} FROM latest_country_verdicts WHERE country = ?", (country,)
        )
        return country_verdict_from_row(rows[0]) if rows else None

    def latest_country_verdicts(self) -> list[StoredCountryVerdict]:
        rows = self._read(f"SELECT {COUNTRY_VERDICT_COLUMNS} FROM latest_country_verdicts ORDER BY country")
        return [country_verdict_from_row(row) for row in rows]

    def as_timeline(self, asn: int, since_unix_s: float, until_unix_s: float) -> list[StoredAsVerdict]:
        rows = self._read(
            f"SELECT {AS_VERDICT_COLUMNS} FROM as_verdicts "
            "WHERE asn = ? AND round_start >= ? AND round_start < ? "
            "ORDER BY round",
            (asn, since_unix_s, until_unix_s),
        )
        return [as_verdict_from_row(row) for row in rows]

    def country_timeline(
        self, country: str, since_unix_s: float, until_unix_s: float
    ) -> list[StoredCountryVerdict]:
        rows = self._read(
            f"SELECT {COUNTRY_VERDICT_COLUMNS} FROM country_verdicts WHERE country = ? AND round_start >= ? "
            "AND round_start < ? ORDER BY round",
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
        rows = self._read(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY started_at, event_id",
            params,
        )
        return [event_from_row(row) for row in rows]
