"""The SQLite outbox and the credential file, on real files."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from vantage.probe.daemon.credentials import (
    Credential,
    credential_path,
    ensure_state_dir,
    load_credential,
    save_credential,
)
from vantage.probe.daemon.outbox import AsyncOutbox, NewResult, Outbox, open_outbox


def results(start: int, count: int) -> list[NewResult]:
    return [NewResult(f"id-{n}", 1000.0 + n, f"payload-{n}".encode()) for n in range(start, start + count)]


def test_results_survive_reopening_in_order(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path, max_results=100)
    outbox.add(results(0, 10))
    outbox.close()
    reopened = open_outbox(tmp_path, max_results=100)
    rows = reopened.read_after(0, 100)
    assert [row.measurement_id for row in rows] == [f"id-{n}" for n in range(10)]
    assert reopened.oldest_written_at() == 1000.0
    reopened.close()


def test_same_measurement_id_is_stored_once(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path, max_results=100)
    assert outbox.add(results(0, 3)).added == 3
    assert outbox.add(results(2, 3)).added == 2
    assert outbox.depth() == 5


def test_full_outbox_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path, max_results=5)
    outbox.add(results(0, 4))
    outcome = outbox.add(results(4, 4))
    assert (outcome.added, outcome.dropped, outcome.depth) == (4, 3, 5)
    assert [row.measurement_id for row in outbox.read_after(0, 10)] == [f"id-{n}" for n in range(3, 8)]
    outbox.add(results(8, 1))
    assert outbox.dropped_total() == 4
    outbox.close()
    assert open_outbox(tmp_path, max_results=5).dropped_total() == 4  # persisted


def test_delete_only_what_was_acknowledged(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path, max_results=100)
    outbox.add(results(0, 6))
    rows = outbox.read_after(0, 3)
    assert outbox.delete([row.seq for row in rows]) == 3
    assert [row.measurement_id for row in outbox.read_after(0, 10)] == ["id-3", "id-4", "id-5"]
    assert outbox.read_after(rows[-1].seq + 1, 1)[0].measurement_id == "id-4"
    assert outbox.delete([rows[0].seq]) == 0  # already gone: the depth must not count it twice
    assert outbox.depth() == 3
    outbox.close()
    assert open_outbox(tmp_path, max_results=100).depth() == 3


def test_async_outbox_runs_on_its_own_thread(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, float | None, int]:
        outbox = AsyncOutbox(Outbox(tmp_path / "o.sqlite3", max_results=10))
        await outbox.add(results(0, 12))
        rows = await outbox.read_after(0, 5)
        await outbox.delete([row.seq for row in rows])
        stats = await outbox.stats()
        await outbox.close()
        return stats

    depth, oldest, dropped = asyncio.run(scenario())
    assert (depth, oldest, dropped) == (5, 1007.0, 2)


def test_outbox_bound_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Outbox(tmp_path / "o.sqlite3", max_results=0)


def test_credential_round_trip_with_mode_0600(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ensure_state_dir(state)
    assert load_credential(state) is None
    save_credential(state, Credential("probe-1", "s3cret", "2026-01-01T00:00:00Z"))
    assert stat.S_IMODE(credential_path(state).stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    loaded = load_credential(state)
    assert loaded == Credential("probe-1", "s3cret", "2026-01-01T00:00:00Z")
    assert "s3cret" not in repr(loaded)


def test_loosened_credential_file_is_tightened(tmp_path: Path) -> None:
    save_credential(tmp_path, Credential("p", "s"))
    credential_path(tmp_path).chmod(0o644)
    assert load_credential(tmp_path) is not None
    assert stat.S_IMODE(credential_path(tmp_path).stat().st_mode) == 0o600


def test_corrupt_credential_names_the_file(tmp_path: Path) -> None:
    credential_path(tmp_path).write_text("{not json")
    credential_path(tmp_path).chmod(0o600)
    with pytest.raises(Exception, match=r"credential\.json"):
        load_credential(tmp_path)


def test_young_rows_can_be_held_back(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path, max_results=100)
    outbox.add(results(0, 10))  # written at 1000.0 .. 1009.0
    assert [row.measurement_id for row in outbox.read_after(0, 100, written_before_unix_s=1004.0)] == [
        f"id-{n}" for n in range(4)
    ]
    assert len(outbox.read_after(0, 100)) == 10
