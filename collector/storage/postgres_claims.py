"""PostgreSQL rounds: claims under the leader's term, results fenced by it.

Claims go through the leader lock (postgres_leader.py): only the leader claims
a round, under its term. A round claimed in an earlier term and never
computed (the old leader died mid-round) is taken over; a result whose claim
was taken over in the meantime is refused, so no round is stored twice.
Verdicts, events and the engine state are written with the statements both
SQL backends share (SqlStorage._store_verdicts); the round queries are
SqlStorage's too.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from vantage.collector.storage.base import StorageError
from vantage.collector.storage.postgres_leader import LeaderLock
from vantage.collector.storage.records import RoundRecord, RoundResult
from vantage.collector.storage.sql_common import ROUND_COLUMNS, claim_params, round_params
from vantage.collector.storage.sql_storage import SqlStorage

log = logging.getLogger("vantage.collector")

Connection = psycopg.Connection[tuple[Any, ...]]

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


class PostgresRounds(SqlStorage):
    """The round half of PostgresStorage (still abstract: pool and ingest are in postgres.py)."""

    leader: LeaderLock

    def claim_round(self, record: RoundRecord) -> bool:
        term = self.leader.term()
        if term is None:
            return False  # another collector is the leader
        with self._tx() as conn:
            row = conn.execute(
                CLAIM_ROUND,
                (*claim_params(record), term),
            ).fetchone()
        if row is None:
            return False
        if not row[0]:
            log.warning(
                "round %d was claimed by an earlier leader and never computed: taking it over",
                record.number,
            )
        return True

    def _check_revision_holder(self, conn: Any, round_number: int) -> None:
        # A revision is computed once, by the leader: another collector's would be a duplicate.
        if not self.leader.held_term():
            raise StorageError(f"revision of round {round_number} dropped: this collector is not the leader")

    def store_round_result(self, result: RoundResult) -> None:
        record = result.round
        term = self.leader.held_term() or ""
        with self._tx() as conn:
            claimed = conn.execute(
                "SELECT leader_term FROM rounds WHERE number = %s FOR UPDATE", (record.number,)
            ).fetchone()
            if claimed is not None and claimed[0] and claimed[0] != term:
                # Fencing: a newer leader took the round over while we computed it.
                raise StorageError(
                    f"round {record.number} was taken over by another collector; this result is dropped"
                )
            conn.execute(STORE_ROUND, (*round_params(record), term))
            self._store_verdicts(conn, result)
