"""Leader election for collectors sharing one PostgreSQL database.

Theory of operation:
- The leader is whichever collector holds a session-level advisory lock,
  taken with `pg_try_advisory_lock` on a connection of its own (outside the
  pool, so the pool recycling connections never drops it). The lock lives as
  long as that session: a collector killed with -9 closes its socket, the
  server ends the backend and the lock is free at once; the next collector
  that asks becomes the leader.
- Each holding of the lock is a *term* with a fresh random id. The term is the
  fencing token: rounds are claimed under a term (rounds.leader_term), a new
  leader may take over a round claimed in an earlier term and never computed
  (its claimer died mid-round), and a result stored under a term that no
  longer owns the claim is refused (a leader that lost its session without
  noticing cannot overwrite its successor).
- The lock key is derived from the schema name, so deployments (or test runs)
  in different schemas of one database elect their leaders independently.
- A session cut by the network rather than by a dead process is noticed by
  TCP keepalives on both sides (set below), so a silent partition costs at
  most about KEEPALIVE_IDLE_S + KEEPALIVE_INTERVAL_S × KEEPALIVE_COUNT.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from contextlib import suppress

import psycopg

log = logging.getLogger("vantage.collector")

# First half of the two-part advisory lock key: "VaNt" in ASCII, so the locks
# are recognisable in pg_locks (classid) and unlikely to meet another app's.
LOCK_CLASS = 0x56614E74
# Second half: a purpose, hashed with the schema name (see lock_key).
LEADER_PURPOSE = "leader"
MIGRATION_PURPOSE = "migrate"
# TCP keepalives on the leader session: a partitioned leader's lock is freed
# within about 10 + 5 × 3 = 25 s, well inside one round (300 s by default).
KEEPALIVE_IDLE_S = 10
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3


def lock_key(schema: str, purpose: str) -> int:
    """A stable signed 32-bit key for (schema, purpose): the second half of the lock key."""
    digest = hashlib.sha256(f"{purpose}\x00{schema}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


class LeaderLock:
    """The leader lock of one collector: holds it once taken, until the process ends.

    Thread-safe; `term()` is cheap when leadership is already held (one round
    trip on the leader session to prove it is still alive).
    """

    def __init__(self, dsn: str, schema: str, *, application_name: str) -> None:
        self._dsn = dsn
        self._key = lock_key(schema, LEADER_PURPOSE)
        self._application_name = application_name
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._term: str | None = None
        self._closed = False

    @property
    def key(self) -> tuple[int, int]:
        return LOCK_CLASS, self._key

    def term(self) -> str | None:
        """The current term id when this collector is (or just became) the leader, else None."""
        with self._lock:
            if self._closed:
                return None
            if self._term is not None and self._alive():
                return self._term
            self._drop()
            return self._try_acquire()

    def held_term(self) -> str | None:
        """The term last acquired, without asking the server (for fencing checks)."""
        with self._lock:
            return self._term

    def close(self) -> None:
        """Give up leadership (closing the session frees the lock)."""
        with self._lock:
            self._closed = True
            self._drop()

    # ------------------------------------------------------------ internals
    def _alive(self) -> bool:
        conn = self._conn
        if conn is None or conn.closed:
            return False
        try:
            conn.execute("SELECT 1")
        except psycopg.Error:
            log.warning("leader session lost: leadership given up")
            return False
        return True

    def _drop(self) -> None:
        if self._conn is not None:
            with suppress(psycopg.Error):
                self._conn.close()
        self._conn = None
        self._term = None

    def _try_acquire(self) -> str | None:
        try:
            conn = psycopg.connect(
                self._dsn,
                autocommit=True,
                application_name=self._application_name,
                keepalives=1,
                keepalives_idle=KEEPALIVE_IDLE_S,
                keepalives_interval=KEEPALIVE_INTERVAL_S,
                keepalives_count=KEEPALIVE_COUNT,
                connect_timeout=10,
            )
        except psycopg.Error as exc:
            log.warning("cannot open the leader session: %s", exc)
            return None
        try:
            # The server side notices a vanished leader host as fast as we notice the server.
            conn.execute(f"SET tcp_keepalives_idle = {KEEPALIVE_IDLE_S}")
            conn.execute(f"SET tcp_keepalives_interval = {KEEPALIVE_INTERVAL_S}")
            conn.execute(f"SET tcp_keepalives_count = {KEEPALIVE_COUNT}")
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, self._key)).fetchone()
        except psycopg.Error as exc:
            log.warning("leader election failed: %s", exc)
            with suppress(psycopg.Error):
                conn.close()
            return None
        if not row or not row[0]:
            conn.close()
            return None
        self._conn = conn
        self._term = uuid.uuid4().hex
        log.info("this collector is now the leader (term %s)", self._term[:8])
        return self._term
