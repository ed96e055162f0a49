"""SQLite backend, part two: claiming and storing rounds (mixed into SqliteStorage).

Each AS's and country's latest verdict is kept in its own table by the same
transaction that stores the round, so "status of every AS" is one indexed
scan; an older round stored late never replaces a newer latest verdict (the
statements are shared with PostgreSQL, see sql_common.py). One SQLite file
has no leader election: the first INSERT of a round number wins the claim.
"""

from __future__ import annotations

from vantage.collector.storage.records import RoundRecord, RoundResult
from vantage.collector.storage.sql_common import ROUND_COLUMNS, claim_params, placeholders, round_params
from vantage.collector.storage.sql_storage import SqlStorage

CLAIM_ROUND = (
    f"INSERT INTO rounds ({ROUND_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, 0, '[]', '[]', '') "
    "ON CONFLICT (number) DO NOTHING"
)
STORE_ROUND = f"INSERT OR REPLACE INTO rounds ({ROUND_COLUMNS}) VALUES ({placeholders(10)})"


class SqliteRounds(SqlStorage):
    """The round half of SqliteStorage (still abstract: the connection part is in sqlite.py)."""

    def claim_round(self, record: RoundRecord) -> bool:
        with self._tx() as conn:
            cursor = conn.execute(
                CLAIM_ROUND,
                claim_params(record),
            )
            inserted: int = cursor.rowcount
            return inserted == 1

    def store_round_result(self, result: RoundResult) -> None:
        with self._tx() as conn:
            conn.execute(STORE_ROUND, round_params(result.round))
            self._store_verdicts(conn, result)
