"""Collector storage: one interface (`base.Storage`), several backends.

`open_storage` picks the backend from `--db` (a URL) or the data dir.
"""

from __future__ import annotations

from pathlib import Path

from vantage.collector.storage.base import Storage, StorageError
from vantage.extras import missing_extra_message

__all__ = ["DEFAULT_DB_FILE", "Storage", "StorageError", "open_storage"]

# The embedded default: one SQLite file inside --data-dir.
DEFAULT_DB_FILE = "collector.sqlite3"


def open_storage(db_url: str | None, data_dir: Path) -> Storage:
    """`None` → SQLite in data_dir; `sqlite:///PATH`; `memory:`; `postgresql://...` (when built)."""
    if not db_url:
        from vantage.collector.storage.sqlite import SqliteStorage

        return SqliteStorage(data_dir / DEFAULT_DB_FILE)
    if db_url.startswith("sqlite:///"):
        from vantage.collector.storage.sqlite import SqliteStorage

        return SqliteStorage(Path(db_url.removeprefix("sqlite:///")))
    if db_url == "memory:":
        from vantage.collector.storage.memory import MemoryStorage

        return MemoryStorage()
    if db_url.startswith(("postgresql://", "postgres://")):
        try:
            from vantage.collector.storage.postgres import PostgresStorage
        except ModuleNotFoundError as exc:
            advice = missing_extra_message(exc.name)  # psycopg is an extra: vantage[postgres]
            if advice is None:
                raise
            raise ValueError(advice) from exc
        return PostgresStorage(db_url)
    raise ValueError(f"unsupported --db URL {db_url!r}: use sqlite:///PATH, memory: or postgresql://...")
