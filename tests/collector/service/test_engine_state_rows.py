"""The round loop stores the engine state as per-AS rows: a collector that did not compute the
previous round reads them back and computes what the one that did would have; a database holding
schema 1's single state blob is converted on the next round."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collector.service.test_round_loop import (
    FIRST_ROUND,
    OUTAGE_FROM,
    ROUND_S,
    ROUNDS,
    setup_app,
    submit_round,
)
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.locator import Locator
from vantage.collector.service.round_loop import compute_round

engine = pytest.importorskip("vantage.collector.verdict.engine")


def verdict_history(app: CollectorApp) -> list[tuple[int, int, bytes]]:
    return [
        (v.round, v.status, v.payload)
        for asn in (64500, 64520)
        for v in app.storage.as_timeline(asn, 0, 1e12)
    ]


def compute_all(apps: list[CollectorApp], clock_of: dict[int, object]) -> None:
    for offset in range(ROUNDS):
        number = FIRST_ROUND + offset
        app = apps[offset % len(apps)]
        submit_round(app, number, kz_down=offset >= OUTAGE_FROM)
        for clock in clock_of.values():
            clock.now = (number + 1.2) * ROUND_S  # type: ignore[attr-defined]
        assert compute_round(app, number) is not None


def test_collectors_taking_turns_compute_what_one_collector_computes(tmp_path: Path) -> None:
    alone, alone_clock = setup_app(tmp_path / "alone.sqlite3")
    first, first_clock = setup_app(tmp_path / "shared.sqlite3")
    second = CollectorApp(
        first.storage,
        CollectorConfig(collector_id="other", round_seconds=ROUND_S),
        Locator(()),
        clock=first_clock,
    )
    try:
        compute_all([alone], {0: alone_clock})
        compute_all([first, second], {0: first_clock})
        assert [r for r, _, _ in verdict_history(alone)] == [r for r, _, _ in verdict_history(first)]
        assert verdict_history(alone) == verdict_history(first)
        assert alone.storage.load_engine_rows() == first.storage.load_engine_rows()
        assert first.storage.load_engine_state() is None  # rows only: no blob rewritten every round
    finally:
        for app in (alone, first, second):
            app.close()
        alone.storage.close()
        first.storage.close()


def test_a_schema_1_state_blob_is_converted_to_rows_on_the_next_round(tmp_path: Path) -> None:
    app, clock = setup_app(tmp_path / "c.sqlite3")
    try:
        compute_all([app], {0: clock})
        rows = app.storage.load_engine_rows()
        state = engine.EngineState.from_rows(rows)
        # Simulate a database written by the previous collector: the blob, no rows.
        with app.storage._tx() as conn:  # test setup: an old schema's content
            conn.execute("DELETE FROM engine_state_rows")
            conn.execute(
                "INSERT INTO engine_state (singleton, state, round) VALUES (1, ?, ?)",
                (state.to_bytes(), FIRST_ROUND + ROUNDS - 1),
            )
        restarted = CollectorApp(
            app.storage, CollectorConfig(collector_id="test", round_seconds=ROUND_S), Locator(()), clock=clock
        )
        number = FIRST_ROUND + ROUNDS
        submit_round(restarted, number, kz_down=True)
        clock.now = (number + 1.2) * ROUND_S
        assert compute_round(restarted, number) is not None
        converted = restarted.storage.load_engine_rows()
        assert {"meta", "as:64500", "as:64520"} <= set(converted)
        assert engine.EngineState.from_rows(converted).last_round == number
        restarted.close()
    finally:
        app.close()
        app.storage.close()
