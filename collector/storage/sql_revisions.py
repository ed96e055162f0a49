"""Revisions of computed rounds on both SQL servers (schema 5, collector/verdict/revisions.py).

A mixin of `SqlStorage`: the statements are the same on SQLite and PostgreSQL; the backend's
`_sql` turns the `?` placeholders into its own. PostgreSQL fences a revision by the leader's term
(`_check_revision_holder`), as it fences a round's result.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from vantage.collector.storage import sql_common as q
from vantage.collector.storage.base import Storage
from vantage.collector.storage.records import (
    LateBatch,
    RevisionRecord,
    RoundRecord,
    RoundResult,
    StoredEvent,
    SupersededAsVerdict,
    SupersededCountryVerdict,
    SupersededEvent,
)

STORE_HISTORY_ROW = (
    "INSERT INTO engine_state_history (row_key, round, state) VALUES (?, ?, ?) "
    "ON CONFLICT (row_key, round) DO UPDATE SET state = excluded.state"
)
_REVISION_COLUMNS = "round, revision, revised_at, read_at, late_results, late_probes, revised_by"
_STORE_REVISION = (
    f"INSERT INTO round_revisions ({_REVISION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (round) DO UPDATE SET revision = excluded.revision, revised_at = excluded.revised_at, "
    "read_at = excluded.read_at, late_results = excluded.late_results, "
    "late_probes = excluded.late_probes, revised_by = excluded.revised_by"
)
_ARCHIVE_AS = (
    "INSERT INTO as_verdict_revisions (asn, round, revision, valid_from, valid_until, round_start, "
    "country, status, confidence, belief, reachability_ratio, payload, mechanism) "
    "SELECT asn, round, ?, ?, ?, round_start, country, status, confidence, belief, reachability_ratio, "
    "payload, mechanism FROM as_verdicts WHERE round = ? ON CONFLICT DO NOTHING"
)
_ARCHIVE_COUNTRY = (
    "INSERT INTO country_verdict_revisions (country, round, revision, valid_from, valid_until, "
    "round_start, status, confidence, reachability_ratio, payload, mechanism) "
    "SELECT country, round, ?, ?, ?, round_start, status, confidence, reachability_ratio, payload, "
    "mechanism FROM country_verdicts WHERE round = ? ON CONFLICT DO NOTHING"
)
_STORE_EVENT_CHANGE = (
    f"INSERT INTO event_changes (changed_by, {q.EVENT_COLUMNS}) VALUES ({q.placeholders(11)})"
)
_LATE_BATCHES = (
    "SELECT br.round, b.batch_key, b.probe_id, b.received_at FROM result_batch_rounds br "
    "JOIN result_batches b ON b.batch_key = br.batch_key "
    "JOIN rounds r ON r.number = br.round "
    "LEFT JOIN round_revisions v ON v.round = br.round "
    "WHERE br.round >= ? AND br.batch_key > ? AND r.computed_at IS NOT NULL AND b.received_at > r.claimed_at "
    "AND (v.round IS NULL OR b.received_at > v.read_at) ORDER BY br.round, b.batch_key"
)
_ROWS_BEFORE = (
    "SELECT h.row_key, h.state FROM engine_state_history h WHERE h.round < ? AND h.round = "
    "(SELECT MAX(n.round) FROM engine_state_history n WHERE n.row_key = h.row_key AND n.round < ?)"
)
_PRUNE_HISTORY = (
    "DELETE FROM engine_state_history WHERE round < ? AND EXISTS (SELECT 1 FROM engine_state_history n "
    "WHERE n.row_key = engine_state_history.row_key AND n.round > engine_state_history.round "
    "AND n.round < ?)"
)


def revision_from_row(row: Sequence[Any]) -> RevisionRecord:
    return RevisionRecord(
        round=int(row[0]),
        revision=int(row[1]),
        revised_at_unix_s=float(row[2]),
        read_at_unix_s=float(row[3]),
        late_results=int(row[4]),
        late_probes=int(row[5]),
        revised_by=row[6],
    )


class SqlRevisions(Storage):
    @abc.abstractmethod
    def _tx(self) -> AbstractContextManager[Any]: ...

    @abc.abstractmethod
    def _executemany(self, conn: Any, sql: str, rows: Iterable[Sequence[object]]) -> None: ...

    @abc.abstractmethod
    def _sql(self, sql: str) -> str: ...

    @abc.abstractmethod
    def _store_verdict_rows(
        self, conn: Any, result: RoundResult, events_known_at: float | None = None
    ) -> None: ...

    @abc.abstractmethod
    def _select(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    @abc.abstractmethod
    def _in(self, column: str, values: Collection[object]) -> tuple[str, list[object]]: ...

    STORE_EVENT = ""

    def _check_revision_holder(self, conn: Any, round_number: int) -> None:
        """Raise StorageError when this caller may not store a revision (PostgreSQL: not leader)."""

    def _store_history(self, conn: Any, number: int, rows: Iterable[tuple[str, bytes | None]]) -> None:
        params = [(key, number, data) for key, data in rows]
        if params:
            self._executemany(conn, self._sql(STORE_HISTORY_ROW), params)

    def store_revision(
        self,
        result: RoundResult,
        revision: RevisionRecord,
        *,
        withdrawn_events: Collection[str] = (),
        engine_rows_now: Sequence[tuple[str, bytes]] | None = None,
        pending_round: int | None = None,
        event_changes: Sequence[StoredEvent] = (),
    ) -> None:
        number = result.round.number
        sql = self._sql
        with self._tx() as conn:
            self._check_revision_holder(conn, number)
            held = conn.execute(
                sql("SELECT revision, revised_at FROM round_revisions WHERE round = ?"), (number,)
            ).fetchone()
            if held is None:
                computed = conn.execute(sql("SELECT computed_at FROM rounds WHERE number = ?"), (number,))
                row = computed.fetchone()
                previous, valid_from = 0, float(row[0]) if row and row[0] is not None else 0.0
            else:
                previous, valid_from = int(held[0]), float(held[1])
            until = revision.revised_at_unix_s
            conn.execute(sql(_ARCHIVE_AS), (previous, valid_from, until, number))
            conn.execute(sql(_ARCHIVE_COUNTRY), (previous, valid_from, until, number))
            conn.execute(sql("DELETE FROM as_verdicts WHERE round = ?"), (number,))
            conn.execute(sql("DELETE FROM country_verdicts WHERE round = ?"), (number,))
            self._store_verdict_rows(conn, result, until)
            if withdrawn_events:
                condition, values = self._in("event_id", list(withdrawn_events))
                conn.execute(
                    sql(f"INSERT INTO event_revisions (valid_until, {q.EVENT_COLUMNS}) "
                        f"SELECT ?, {q.EVENT_COLUMNS} FROM events WHERE {condition} ON CONFLICT DO NOTHING"),
                    [until, *values],
                )  # fmt: skip
                conn.execute(sql(f"DELETE FROM events WHERE {condition}"), values)
            conn.execute(
                sql("UPDATE rounds SET observations = ? WHERE number = ?"),
                (result.round.observations, number),
            )
            conn.execute(
                sql(_STORE_REVISION),
                (
                    number,
                    revision.revision,
                    revision.revised_at_unix_s,
                    revision.read_at_unix_s,
                    revision.late_results,
                    revision.late_probes,
                    revision.revised_by,
                ),
            )
            conn.execute(sql("DELETE FROM engine_state_history WHERE round = ?"), (number,))
            self._store_history(conn, number, result.engine_rows)
            if engine_rows_now is not None:
                conn.execute("DELETE FROM engine_state_rows")
                rows_now = [(key, number, data) for key, data in engine_rows_now]
                if rows_now:
                    self._executemany(conn, sql(q.STORE_ENGINE_ROW), rows_now)
            if event_changes:
                self._executemany(
                    conn,
                    sql(_STORE_EVENT_CHANGE),
                    [(revision.revised_by, *q.event_params(e)) for e in event_changes],
                )
            conn.execute("DELETE FROM revision_pending")
            if pending_round is not None:
                conn.execute(
                    sql("INSERT INTO revision_pending (singleton, round) VALUES (1, ?)"), (pending_round,)
                )

    def pending_revision(self) -> int | None:
        rows = self._select("SELECT round FROM revision_pending WHERE singleton = 1")
        return int(rows[0][0]) if rows else None

    def late_batches(self, oldest_round: int, after_key: int = 0) -> list[LateBatch]:
        return [
            LateBatch(int(r), int(key), probe, float(received))
            for r, key, probe, received in self._select(_LATE_BATCHES, (oldest_round, after_key))
        ]

    def unrevisable_batches(
        self, after_key: int, *, oldest_round: int, latest_round: int
    ) -> list[tuple[int, int, str]]:
        rows = self._select(
            "SELECT br.round, br.batch_key, b.probe_id FROM result_batch_rounds br "
            "JOIN result_batches b ON b.batch_key = br.batch_key "
            "LEFT JOIN rounds r ON r.number = br.round "
            "WHERE br.batch_key > ? AND (br.round < ? OR (r.computed_at IS NULL AND br.round < ?)) "
            "ORDER BY br.batch_key, br.round",
            (after_key, oldest_round, latest_round),
        )
        return [(int(r), int(k), p) for r, k, p in rows]

    def last_batch_key(self) -> int:
        rows = self._select("SELECT MAX(batch_key) FROM result_batches")
        return int(rows[0][0] or 0)

    def load_engine_rows_before(self, round_number: int) -> dict[str, bytes]:
        rows = self._select(_ROWS_BEFORE, (round_number, round_number))
        return {key: bytes(data) for key, data in rows if data is not None}

    def prune_engine_history(self, oldest_round: int) -> int:
        with self._tx() as conn:
            cursor = conn.execute(self._sql(_PRUNE_HISTORY), (oldest_round, oldest_round))
            return int(cursor.rowcount or 0)

    def round_revisions(self, first_round: int, last_round: int) -> list[RevisionRecord]:
        rows = self._select(
            f"SELECT {_REVISION_COLUMNS} FROM round_revisions WHERE round >= ? AND round <= ? ORDER BY round",
            (first_round, last_round),
        )
        return [revision_from_row(row) for row in rows]

    def computed_rounds(
        self, first_round: int, last_round: int, limit: int | None = None
    ) -> list[RoundRecord]:
        rows = self._select(
            f"SELECT {q.ROUND_COLUMNS} FROM rounds WHERE number >= ? AND number <= ? "
            "AND computed_at IS NOT NULL ORDER BY number" + ("" if limit is None else f" LIMIT {int(limit)}"),
            (first_round, last_round),
        )
        return [q.round_from_row(row) for row in rows]

    def superseded_as_verdicts(
        self, asn: int, since_unix_s: float, until_unix_s: float
    ) -> list[SupersededAsVerdict]:
        rows = self._select(
            f"SELECT {q.AS_VERDICT_COLUMNS}, revision, valid_from, valid_until FROM as_verdict_revisions "
            "WHERE asn = ? AND round_start >= ? AND round_start < ? ORDER BY round, revision",
            (asn, since_unix_s, until_unix_s),
        )
        return [
            SupersededAsVerdict(q.as_verdict_from_row(row[:10]), int(row[10]), float(row[11]), float(row[12]))
            for row in rows
        ]

    def superseded_country_verdicts(
        self, country: str, since_unix_s: float, until_unix_s: float
    ) -> list[SupersededCountryVerdict]:
        rows = self._select(
            f"SELECT {q.COUNTRY_VERDICT_COLUMNS}, revision, valid_from, valid_until "
            "FROM country_verdict_revisions "
            "WHERE country = ? AND round_start >= ? AND round_start < ? ORDER BY round, revision",
            (country, since_unix_s, until_unix_s),
        )
        return [
            SupersededCountryVerdict(
                q.country_verdict_from_row(row[:8]), int(row[8]), float(row[9]), float(row[10])
            )
            for row in rows
        ]

    def superseded_events(
        self, *, asn: int, country: str | None = None, since_unix_s: float, until_unix_s: float
    ) -> list[SupersededEvent]:
        where = "asn = ?"
        params: list[object] = [asn]
        if country is not None:
            where += " AND country = ?"
            params.append(country)
        rows = self._select(
            f"SELECT {q.EVENT_COLUMNS}, valid_until FROM event_revisions WHERE {where} "
            "AND (ended_at IS NULL OR ended_at > ?) AND started_at < ? ORDER BY event_id, valid_until",
            [*params, since_unix_s, until_unix_s],
        )
        return [SupersededEvent(q.event_from_row(row[:10]), float(row[10])) for row in rows]

    def event_changes_after(self, after_key: int, limit: int = 1000) -> list[tuple[int, str, StoredEvent]]:
        rows = self._select(
            f"SELECT change_key, changed_by, {q.EVENT_COLUMNS} FROM event_changes WHERE change_key > ? "
            "ORDER BY change_key LIMIT ?",
            (after_key, limit),
        )
        return [(int(row[0]), str(row[1]), q.event_from_row(row[2:])) for row in rows]

    def last_event_change_key(self) -> int:
        rows = self._select("SELECT MAX(change_key) FROM event_changes")
        return int(rows[0][0] or 0) if rows else 0

    def prune_event_changes(self, keep_last: int) -> int:
        # Keys only grow (AUTOINCREMENT on SQLite, a sequence on PostgreSQL): a pruned key is
        # never given again, so a follower's cursor stays meaningful.
        with self._tx() as conn:
            cursor = conn.execute(
                self._sql(
                    "DELETE FROM event_changes WHERE change_key <= "
                    "(SELECT COALESCE(MAX(change_key), 0) FROM event_changes) - ?"
                ),
                (keep_last,),
            )
            return int(cursor.rowcount or 0)
