"""Bounded engine state: what is not measured for `forget_after_s` leaves the state; the state's
per-AS rows carry exactly the state, and a round names the rows it changed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from vantage.collector.verdict.engine import EngineState, RoundOutput, VerdictConfig, evaluate_round
from vantage.collector.verdict.model import Observation, Status
from vantage.collector.verdict.state import META_ROW

from .helpers import ROUND, T0, full_round

# One hour of 5-minute rounds: 12 rounds.
HOUR = VerdictConfig(forget_after_s=3600.0)


def run_rows(
    rounds: list[tuple[int, list[Observation]]], config: VerdictConfig | None = None
) -> tuple[list[RoundOutput], dict[str, bytes]]:
    """Evaluate (round number, observations), storing only the changed rows as the collector does
    and reading the state back from the stored rows each round."""
    stored: dict[str, bytes] = {}
    state = EngineState.initial()
    outputs = []
    for number, observations in rounds:
        out = evaluate_round(
            observations,
            state,
            round_number=number,
            round_start=T0 + number * ROUND,
            round_length=ROUND,
            config=config,
        )
        for key, data in out.state.rows(out.changed_asns).items():
            if data is None:
                stored.pop(key, None)
            else:
                stored[key] = data
        state = EngineState.from_rows(stored)
        outputs.append(out)
    return outputs, stored


def test_changed_rows_rebuild_the_state_exactly() -> None:
    rounds = [
        (n, full_round(9198, range(3), 4, ok=True) + full_round(4000 + n % 3, range(3), 3, ok=n != 5))
        for n in range(8)
    ]
    outputs, stored = run_rows(rounds)
    final = outputs[-1].state
    again = EngineState.from_rows(stored)
    assert again.to_bytes() == final.to_bytes()
    # The same rounds through the whole-state byte form give the same verdicts.
    state = EngineState.initial()
    for (number, observations), out in zip(rounds, outputs, strict=True):
        whole = evaluate_round(
            observations, state, round_number=number, round_start=T0 + number * ROUND, round_length=ROUND
        )
        assert whole.as_verdicts == out.as_verdicts
        assert whole.events == out.events
        state = EngineState.from_bytes(whole.state.to_bytes())


def test_a_round_changes_only_the_rows_of_the_ases_it_measured() -> None:
    outputs, _ = run_rows(
        [
            (0, full_round(9198, range(3), 4, ok=True) + full_round(4000, range(3), 4, ok=True)),
            (1, full_round(9198, range(3), 4, ok=True)),
        ]
    )
    assert 9198 in outputs[1].changed_asns
    assert 4000 not in outputs[1].changed_asns
    rows = outputs[1].state.rows(outputs[1].changed_asns)
    assert "as:4000" not in rows and META_ROW in rows


def test_an_as_not_measured_for_the_forget_time_is_forgotten() -> None:
    # AS 4000 is measured in round 0 only; AS 9198 every round. 12 rounds = one hour.
    rounds = [(0, full_round(9198, range(3), 4, ok=True) + full_round(4000, range(3), 4, ok=True))]
    rounds += [(n, full_round(9198, range(3), 4, ok=True)) for n in range(1, 14)]
    outputs, stored = run_rows(rounds, HOUR)
    at_horizon = outputs[12].state  # round 12: last measured 12 rounds (one hour) ago, kept
    assert 4000 in at_horizon.ases and "t4000-0" in at_horizon.targets
    past = outputs[13].state
    assert 4000 not in past.ases
    assert not [t for t in past.targets if t.startswith("t4000-")]
    assert not [t for t in past.target_home if t.startswith("t4000-")]
    assert not [t for t in past.target_last_round if t.startswith("t4000-")]
    assert 4000 in outputs[13].changed_asns
    assert "as:4000" not in stored
    assert 9198 in past.ases and len([t for t in past.targets if t.startswith("t9198-")]) == 4


def test_a_forgotten_as_with_an_open_event_keeps_its_event() -> None:
    rounds = [(n, full_round(4000, range(3), 6, ok=True)) for n in range(4)]
    rounds += [(n, full_round(4000, range(3), 6, ok=False)) for n in range(4, 7)]
    rounds += [(n, full_round(9198, range(3), 4, ok=True)) for n in range(7, 25)]
    outputs, stored = run_rows(rounds, HOUR)
    assert outputs[6].state.ases[4000].status is Status.DOWN
    final = outputs[-1].state
    assert 4000 not in final.ases
    open_events = [t.event for (scope, _), t in final.tracks.items() if scope == "AS4000" and t.event]
    assert open_events and open_events[0].ended_at is None
    assert "as:4000" in stored  # the row holds the open event only
    assert EngineState.from_rows(stored).to_bytes() == final.to_bytes()


def test_forget_time_must_be_positive() -> None:
    with pytest.raises(ValueError, match="forget_after_s"):
        VerdictConfig(forget_after_s=0.0)


def test_rows_are_refused_without_meta_or_with_another_version() -> None:
    with pytest.raises(ValueError, match="meta row"):
        EngineState.from_rows({})
    with pytest.raises(ValueError, match="version 9"):
        EngineState.from_rows({META_ROW: b'{"version": 9}'})
    good = EngineState.initial().rows()
    with pytest.raises(ValueError, match="as:1"):
        EngineState.from_rows({**{k: v for k, v in good.items() if v is not None}, "as:1": b"[1]"})


def test_a_state_stored_before_target_home_counts_its_targets_as_seen_in_its_last_round() -> None:
    out = evaluate_round(
        full_round(9198, range(3), 4, ok=True),
        EngineState.initial(),
        round_number=7,
        round_start=T0,
        round_length=timedelta(minutes=5),
    )
    document = json.loads(out.state.to_bytes())
    del document["home"], document["last_round_of"]
    old = EngineState.from_bytes(json.dumps(document).encode())
    assert old.target_home == {f"t9198-{t}": 0 for t in range(4)}
    assert old.target_last_round == {f"t9198-{t}": 7 for t in range(4)}
