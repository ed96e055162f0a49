"""Collector storage: one interface (`base.Storage`), several backends.

`open_storage` picks the backend from `--db` (a URL) or the data dir.
"""

from __future__ import annotations

from pathlib import Path

from vantage.collector.storage.base import Storage, StorageError
from vantage.extras import missing_extra_message

__all__ = ["DEFAULT_DB_FILE", "Storage", "StorageError", "open_storage", "parse_db_url"]

# The embedded default: one SQLite file inside --data-dir.
DEFAULT_DB_FILE = "collector.sqlite3"


# The --db URL schemes, each with the backend it opens; parsed here only (the CLI checks a URL
# early with `parse_db_url`, before any backend is imported).
SQLITE_PREFIX = "sqlite:///"
MEMORY_URL = "memory:"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")
DB_URL_FORMS = "sqlite:///PATH, postgresql://... (or memory: for tests)"


def parse_db_url(db_url: str) -> tuple[str, str]:
    """`--db` URL -> (backend, where): ("sqlite", path), ("memory", ""), ("postgres", url).

    ValueError names the URL and the accepted forms.
    """
    if db_url.startswith(SQLITE_PREFIX):
        return "sqlite", db_url.removeprefix(SQLITE_PREFIX)
    if db_url == MEMORY_URL:
        return "memory", ""
    if db_url.startswith(POSTGRES_PREFIXES):
        return "postgres", db_url
    raise ValueError(f"--db {db_url!r}: use {DB_URL_FORMS}")


def open_storage(db_url: str | None, data_dir: Path) -> Storage:
    """`None` → SQLite in data_dir; otherwise the backend `parse_db_url` names."""
    backend, where = ("sqlite", str(data_dir / DEFAULT_DB_FILE)) if not db_url else parse_db_url(db_url)
    if backend == "sqlite":
        from vantage.collector.storage.sqlite import SqliteStorage

        return SqliteStorage(Path(where))
    if backend == "memory":
        from vantage.collector.storage.memory import MemoryStorage

        return MemoryStorage()
    try:
        from vantage.collector.storage.postgres import PostgresStorage
    except ModuleNotFoundError as exc:
        advice = missing_extra_message(exc.name)  # psycopg is an extra: vantage[postgres]
        if advice is None:
            raise
        raise ValueError(advice) from exc
    return PostgresStorage(where)
