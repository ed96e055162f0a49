"""Schema 8 (migrations/*/0008_issued_task_targets.sql) on a database made by schema 7, for SQLite
and PostgreSQL: a task issued before the upgrade reads back with no address (its results are
then compared on protocol and target id only, collector/service/issued_tasks.py),
and tasks issued after it keep theirs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.collector.storage_contract import enrolled
from vantage.collector.storage import sqlite as sqlite_module
from vantage.collector.storage.base import Storage
from vantage.collector.storage.records import IssuedTarget, IssuedTask
from vantage.collector.storage.sqlite import SqliteStorage

BEFORE = 7  # the schema before the issued tasks' targets
OLD_TASK = ("r7-old", 7, "p1", "t1", 1, 1)  # task_id, round, probe_id, target_id, kind, protocol
INSERT_OLD = "INSERT INTO issued_tasks (task_id, round, probe_id, target_id, kind, protocol) VALUES "


def upgraded(
    monkeypatch: pytest.MonkeyPatch,
    module: object,
    open_storage: Callable[[], Storage],
    insert_old: Callable[[], None],
) -> Storage:
    """A storage migrated to BEFORE, holding OLD_TASK, then reopened with every migration."""
    every = module.migrations  # type: ignore[attr-defined]
    assert [v for v, _ in every()][BEFORE - 1 : BEFORE + 1] == [BEFORE, BEFORE + 1]
    with monkeypatch.context() as patch:
        patch.setattr(module, "migrations", lambda: [m for m in every() if m[0] <= BEFORE])
        old = open_storage()
        assert old.schema_version() == BEFORE  # type: ignore[attr-defined]
        enrolled(old)
        old.close()
    insert_old()
    storage = open_storage()
    assert storage.schema_version() == BEFORE + 1  # type: ignore[attr-defined]
    return storage


def check(storage: Storage) -> None:
    assert storage.issued_task_targets("p1", ["r7-old"]) == {"r7-old": IssuedTarget(7, 1, "t1", "")}
    storage.record_tasks([IssuedTask("r8-new", 8, "p1", "t2", kind=1, protocol=4, address="192.0.2.2")])
    assert storage.issued_task_targets("p1", ["r7-old", "r8-new"]) == {
        "r7-old": IssuedTarget(7, 1, "t1", ""),
        "r8-new": IssuedTarget(8, 4, "t2", "192.0.2.2"),
    }


def test_sqlite_tasks_issued_before_schema_8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.sqlite3"

    def insert_old() -> None:
        with sqlite3.connect(path) as conn:
            conn.execute(INSERT_OLD + "(?, ?, ?, ?, ?, ?)", OLD_TASK)

    storage = upgraded(monkeypatch, sqlite_module, lambda: SqliteStorage(path), insert_old)
    try:
        check(storage)
    finally:
        storage.close()


@pytest.mark.postgres
def test_postgres_tasks_issued_before_schema_8(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.scaleout.pg import create_schema, drop_schema, postgres_dsn, require_server, with_search_path

    require_server()
    import psycopg

    from vantage.collector.storage import postgres as postgres_module
    from vantage.collector.storage.postgres import PostgresStorage

    schema = create_schema()
    dsn = with_search_path(postgres_dsn(), schema)

    def insert_old() -> None:
        with psycopg.connect(dsn) as conn:
            conn.execute(INSERT_OLD + "(%s, %s, %s, %s, %s, %s)", OLD_TASK)

    try:
        storage = upgraded(monkeypatch, postgres_module, lambda: PostgresStorage(dsn), insert_old)
        try:
            check(storage)
        finally:
            storage.close()
    finally:
        drop_schema(schema)
