"""The per-AS rows' compact form (ROWS_FORMAT_VERSION 2) and the JSON rows written before it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from vantage.collector.verdict.model import Status
from vantage.collector.verdict.state import META_ROW, AsMemory, EngineState

T0 = datetime(2022, 1, 5, 10, 0, tzinfo=UTC)


def a_state() -> EngineState:
    memory = AsMemory("KZ", Status.UP, T0, 4.5, 0.98, 0.01, 42.125, 7, 3)
    return EngineState(
        # t-2 was measured but has no availability yet (only a last round); 0.1 + 0.2 is inexact
        targets={"t-1": (0.1 + 0.2, 12, True), "t-3": (0.8, 0, False)},
        ases={9198: memory},
        last_round=3,
        target_home={"t-1": 9198, "t-2": 9198, "t-3": 9198},
        target_last_round={"t-1": 3, "t-2": 2, "t-3": 1},
    )


def same(a: EngineState, b: EngineState) -> bool:
    return (a.targets, a.ases, a.target_home, a.target_last_round, a.last_round) == (
        b.targets,
        b.ases,
        b.target_home,
        b.target_last_round,
        b.last_round,
    )


def test_rows_read_back_exactly_and_are_compact() -> None:
    state = a_state()
    rows = {k: v for k, v in state.rows().items() if v is not None}
    assert rows["as:9198"][:1] == b"\x02"
    back = EngineState.from_rows(rows)
    assert same(back, state)
    assert back.targets["t-1"][0] == 0.1 + 0.2 and "t-2" not in back.targets
    assert back.rows() == state.rows()


def test_a_json_row_of_version_1_is_read_among_compact_rows() -> None:
    state = a_state()
    rows = {k: v for k, v in state.rows().items() if v is not None}
    memory = ["US", int(Status.DOWN), T0.isoformat(), -3.0, None, None, None, 0, 2]
    rows["as:4000"] = json.dumps([memory, [], {"u-1": [2, 0.5, 3, 1], "u-2": [1]}]).encode()
    back = EngineState.from_rows(rows)
    assert back.ases[4000].status is Status.DOWN and back.target_home["u-1"] == 4000
    assert back.targets["u-1"] == (0.5, 3, True) and "u-2" not in back.targets
    assert back.target_last_round["u-2"] == 1
    meta = json.loads(rows[META_ROW])
    rows[META_ROW] = json.dumps({**meta, "version": 1}).encode()  # a store written by version 1
    assert same(EngineState.from_rows(rows), back)


def test_a_truncated_compact_row_is_refused_naming_the_row() -> None:
    rows = {k: v for k, v in a_state().rows().items() if v is not None}
    for cut in (3, 40, len(rows["as:9198"]) - 2):
        broken = {**rows, "as:9198": rows["as:9198"][:cut]}
        with pytest.raises(ValueError, match="as:9198"):
            EngineState.from_rows(broken)


def test_a_target_id_holding_a_nul_keeps_the_json_row() -> None:
    state = a_state()
    odd = EngineState(
        targets={**state.targets, "t\0odd": (0.5, 1, True)},
        ases=state.ases,
        last_round=3,
        target_home={**state.target_home, "t\0odd": 9198},
        target_last_round={**state.target_last_round, "t\0odd": 3},
    )
    rows = {k: v for k, v in odd.rows().items() if v is not None}
    assert rows["as:9198"][:1] == b"["
    assert same(EngineState.from_rows(rows), odd)
