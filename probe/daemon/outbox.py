"""The on-disk outbox: every result is committed here before any upload.

Theory of operation. One SQLite database in the state dir (WAL,
synchronous=FULL, so a commit survives power loss, not only a crash). A row is
one serialized Measurement with its stable measurement id, the wall time it was
written and a sequence number that orders it. The uploader reads rows in order,
sends them, and deletes a row only after the collector acknowledged its batch;
a SIGKILL at any moment therefore loses nothing that was committed, and at
worst re-sends rows that were acknowledged but not yet deleted, which the
collector drops as duplicates of the same measurement id.

The outbox is bounded: when an insert would exceed `max_results`, the oldest
rows are deleted in the same transaction, and the count is returned (to be
logged and counted in a metric by the caller) and added to a persisted total.
Dropping the oldest keeps the most recent view of the network, which matters
most when the link comes back.

SQLite calls block, so `AsyncOutbox` runs them on one dedicated thread, keeping
the event loop (and the engine's RTT timing) free of fsync stalls.

A full disk. Deleting acknowledged rows needs disk space too (the WAL grows
before the pages are freed), so the outbox keeps a reserve file of
RESERVE_BYTES beside the database: when an insert or a delete fails with
SQLITE_FULL, the reserve is removed and a delete is retried, so uploading
and deleting acknowledged results go on and the backlog shrinks; the reserve
is put back once there is room again. An insert that fails on a full disk
raises OutboxFull, which the caller counts as dropped results (the probe
keeps measuring and uploading; it never exits over a full disk).
"""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

OUTBOX_FILE = "outbox.sqlite3"
RESERVE_FILE = "outbox.reserve"
# Enough for SQLite to delete a few thousand acknowledged rows on a full disk (the WAL
# frames of the freed pages): 4 MiB, next to an outbox of up to ~250 MB.
RESERVE_BYTES = 4 << 20
SCHEMA_VERSION = 1

T = TypeVar("T")

_MIGRATIONS: tuple[str, ...] = (
    # 1: the results and a persisted drop counter.
    """
    CREATE TABLE results (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        measurement_id TEXT NOT NULL UNIQUE,
        written_at_unix_s REAL NOT NULL,
        payload BLOB NOT NULL
    );
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counters (name, value) VALUES ('dropped_total', 0);
    """,
)


@dataclass(frozen=True, slots=True)
class NewResult:
    measurement_id: str
    written_at_unix_s: float
    payload: bytes


@dataclass(frozen=True, slots=True)
class StoredResult:
    seq: int
    measurement_id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class AddOutcome:
    added: int
    dropped: int  # oldest rows removed to stay within the bound
    depth: int


class OutboxFull(Exception):
    """The disk holding the outbox is full: the results given were not stored."""

    def __init__(self, path: Path, count: int, error: BaseException) -> None:
        super().__init__(f"the disk holding {path} is full: {count} results not stored ({error})")
        self.path = path
        self.count = count


def _disk_full(error: BaseException) -> bool:
    if isinstance(error, sqlite3.OperationalError):
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(error)
    return isinstance(error, OSError) and error.errno == errno.ENOSPC


class Outbox:
    """Synchronous outbox; use from one thread (AsyncOutbox does that)."""

    def __init__(self, path: Path, max_results: int) -> None:
        if max_results < 1:
            raise ValueError("the outbox must hold at least one result")
        self.path = path
        self.max_results = max_results
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._migrate()
        # Kept in step with every insert and delete (one thread uses this object), so
        # that the bound check and the metrics do not count a million rows each time.
        self._depth = int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        self.reserve_path = path.with_name(RESERVE_FILE)
        self._keep_reserve()

    def _keep_reserve(self) -> None:
        """Put the reserve file back when there is room (best effort: a full disk keeps it away)."""
        if self.reserve_path.exists():
            return
        temporary = self.reserve_path.with_name(RESERVE_FILE + ".tmp")
        try:
            with temporary.open("wb") as handle:
                handle.write(b"\0" * RESERVE_BYTES)  # written, not sparse: the blocks are really held
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.reserve_path)
        except OSError:
            temporary.unlink(missing_ok=True)

    def _release_reserve(self) -> bool:
        try:
            self.reserve_path.unlink()
        except FileNotFoundError:
            return False
        return True

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(_MIGRATIONS):
            raise RuntimeError(
                f"{self.path} has outbox schema {version}, newer than this probe ({SCHEMA_VERSION})"
            )
        for number in range(version, len(_MIGRATIONS)):
            self._db.executescript(f"BEGIN; {_MIGRATIONS[number]}; PRAGMA user_version={number + 1}; COMMIT;")

    def add(self, results: Sequence[NewResult]) -> AddOutcome:
        """Store `results` (OutboxFull when the disk is full: none of them is stored)."""
        try:
            outcome = self._add(results)
        except (sqlite3.OperationalError, OSError) as error:
            if not _disk_full(error):
                raise
            raise OutboxFull(self.path, len(results), error) from error
        self._keep_reserve()
        return outcome

    def _add(self, results: Sequence[NewResult]) -> AddOutcome:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO results (measurement_id, written_at_unix_s, payload) VALUES (?, ?, ?)",
                [(r.measurement_id, r.written_at_unix_s, r.payload) for r in results],
            )
            added = db.total_changes - before
            depth = self._depth + added
            dropped = max(0, depth - self.max_results)
            if dropped:
                db.execute(
                    "DELETE FROM results WHERE seq IN (SELECT seq FROM results ORDER BY seq LIMIT ?)",
                    (dropped,),
                )
                db.execute("UPDATE counters SET value = value + ? WHERE name = 'dropped_total'", (dropped,))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._depth = depth - dropped
        return AddOutcome(added=added, dropped=dropped, depth=self._depth)

    def read_after(
        self, after_seq: int, limit: int, written_before_unix_s: float = float("inf")
    ) -> list[StoredResult]:
        """Up to `limit` rows after `after_seq`, in order, written before the given wall time."""
        rows = self._db.execute(
            "SELECT seq, measurement_id, payload FROM results"
            " WHERE seq > ? AND written_at_unix_s < ? ORDER BY seq LIMIT ?",
            (after_seq, min(written_before_unix_s, 1e300), limit),
        ).fetchall()
        return [StoredResult(int(seq), str(mid), bytes(payload)) for seq, mid, payload in rows]

    def delete(self, seqs: Sequence[int]) -> int:
        """Delete acknowledged rows; on a full disk the reserve is given up for it."""
        try:
            return self._delete(seqs)
        except sqlite3.OperationalError as error:
            if not _disk_full(error) or not self._release_reserve():
                raise
        deleted = self._delete(seqs)
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # give the WAL's space back
        return deleted

    def _delete(self, seqs: Sequence[int]) -> int:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            before = db.total_changes
            db.executemany("DELETE FROM results WHERE seq = ?", [(seq,) for seq in seqs])
            deleted = db.total_changes - before
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._depth -= deleted
        return deleted

    def depth(self) -> int:
        return self._depth

    def oldest_written_at(self) -> float | None:
        row = self._db.execute("SELECT written_at_unix_s FROM results ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    def dropped_total(self) -> int:
        return int(self._db.execute("SELECT value FROM counters WHERE name = 'dropped_total'").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class AsyncOutbox:
    """The same outbox for asyncio code: every call runs on one dedicated thread."""

    def __init__(self, outbox: Outbox) -> None:
        self.sync = outbox
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")

    async def _call(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    async def add(self, results: Sequence[NewResult]) -> AddOutcome:
        outcome: AddOutcome = await self._call(self.sync.add, results)
        return outcome

    async def read_after(
        self, after_seq: int, limit: int, written_before_unix_s: float = float("inf")
    ) -> list[StoredResult]:
        rows: list[StoredResult] = await self._call(
            self.sync.read_after, after_seq, limit, written_before_unix_s
        )
        return rows

    async def delete(self, seqs: Sequence[int]) -> int:
        deleted: int = await self._call(self.sync.delete, seqs)
        return deleted

    async def stats(self) -> tuple[int, float | None, int]:
        """(depth, wall time of the oldest row or None, dropped total)."""

        def read() -> tuple[int, float | None, int]:
            return self.sync.depth(), self.sync.oldest_written_at(), self.sync.dropped_total()

        stats: tuple[int, float | None, int] = await self._call(read)
        return stats

    async def close(self) -> None:
        await self._call(self.sync.close)
        self._thread.shutdown(wait=True)


def open_outbox(state_dir: Path, max_results: int) -> Outbox:
    return Outbox(state_dir / OUTBOX_FILE, max_results)
