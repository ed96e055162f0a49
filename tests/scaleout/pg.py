"""A scratch PostgreSQL schema per test, on the server scripts/services.sh starts.

VANTAGE_TEST_POSTGRES_DSN names the server (default: the one services.sh
starts on 127.0.0.1:5432). Each test gets a fresh schema of its own, passed to
the collector through the URL's search_path, and dropped afterwards: tests do
not see each other's data and leave nothing behind. When no server answers,
tests skip and say how to start one.
"""

from __future__ import annotations

import functools
import os
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
import pytest

from vantage.collector.storage.postgres import PostgresStorage

DEFAULT_TEST_DSN = "postgresql://vantage:vantage@127.0.0.1:5432/vantage_test"
SCHEMA_PREFIX = "vtest_"


def postgres_dsn() -> str:
    return os.environ.get("VANTAGE_TEST_POSTGRES_DSN") or DEFAULT_TEST_DSN


@functools.cache
def unavailable_reason() -> str | None:
    """None when the test server answers, else why not (cached: asked once per run)."""
    try:
        with psycopg.connect(postgres_dsn(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"no PostgreSQL server answers at VANTAGE_TEST_POSTGRES_DSN ({first_line}); "
            "start one with `bash scripts/services.sh start`"
        )
    return None


def require_server() -> None:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


def with_search_path(dsn: str, schema: str) -> str:
    """The URL `dsn` with `options=-csearch_path=<schema>` (what `--db` takes)."""
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def create_schema(label: str = "") -> str:
    schema = f"{SCHEMA_PREFIX}{label}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def drop_schema(schema: str) -> None:
    with psycopg.connect(postgres_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class ScratchPostgresStorage(PostgresStorage):
    """PostgresStorage in a schema of its own that is dropped on close."""

    def __init__(self, schema: str | None = None, **options: int) -> None:
        self.scratch_schema = schema or create_schema()
        try:
            super().__init__(with_search_path(postgres_dsn(), self.scratch_schema), **options)
        except BaseException:
            drop_schema(self.scratch_schema)
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            drop_schema(self.scratch_schema)


def contract_backend(_folder: Path) -> PostgresStorage:
    """The storage contract's PostgreSQL entry (skips when no server answers)."""
    require_server()
    return ScratchPostgresStorage()
