"""Revisions: late results make their rounds dirty; recomputing from the state before the first
dirty round gives exactly what the rounds would have given had every result arrived on time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vantage.collector.verdict.engine import EngineState, RoundOutput, evaluate_round
from vantage.collector.verdict.model import Observation
from vantage.collector.verdict.revisions import (
    REFUSED_NO_ROUND,
    REFUSED_TOO_OLD,
    DirtyRound,
    LateResult,
    Refusal,
    plan_revisions,
    recompute,
    window_rounds,
)

from .helpers import ROUND, T0, full_round

ROUNDS = 10
CUT = range(4, 8)  # AS 9198 unreachable in these rounds
LATE_PROBE = "p2"  # its results of the cut rounds arrive after the rounds were computed


def measured(number: int) -> list[Observation]:
    """Every result of round `number`: AS 9198 from three probes, AS 4000 as a control."""
    return full_round(9198, range(3), 6, ok=number not in CUT) + full_round(4000, range(3), 4, ok=True)


def on_time(number: int) -> list[Observation]:
    return measured(number)


def first_view(number: int) -> list[Observation]:
    """What the collector had when it computed the round the first time."""
    rows = measured(number)
    return [o for o in rows if not (number in CUT and o.probe_id == LATE_PROBE)]


def compute(rounds: range, state: EngineState, observations_of) -> list[RoundOutput]:  # type: ignore[no-untyped-def]
    outputs = []
    for number in rounds:
        out = evaluate_round(
            observations_of(number),
            state,
            round_number=number,
            round_start=T0 + number * ROUND,
            round_length=ROUND,
        )
        outputs.append(out)
        state = EngineState.from_rows({k: v for k, v in out.state.rows().items() if v is not None})
    return outputs


def test_recomputed_rounds_equal_the_rounds_computed_on_time_field_by_field() -> None:
    reference = compute(range(ROUNDS), EngineState.initial(), on_time)
    first = compute(range(ROUNDS), EngineState.initial(), first_view)
    assert first[4].as_verdicts != reference[4].as_verdicts  # the late results matter

    late = [LateResult(o.probe_id, n) for n in CUT for o in measured(n) if o.probe_id == LATE_PROBE]
    plan = plan_revisions(late, set(range(ROUNDS)), current_round=ROUNDS, round_length=ROUND)
    assert plan.dirty == tuple(DirtyRound(n, 6 + 4, 1) for n in CUT)  # its AS 9198 and AS 4000 results
    assert plan.recompute == tuple(range(CUT.start, ROUNDS))  # the dirty rounds and all after them
    assert plan.refused == ()

    revised = recompute(
        plan.recompute,
        first[CUT.start - 1].state,  # the checkpoint: the state before the first dirty round
        on_time,  # every result stored by now
        round_start_of=lambda n: T0 + n * ROUND,
        round_length=ROUND,
    )
    timeline = first[: CUT.start] + revised
    assert len(timeline) == len(reference)
    for got, want in zip(timeline, reference, strict=True):
        assert got.round_number == want.round_number
        for got_verdict, want_verdict in zip(got.as_verdicts, want.as_verdicts, strict=True):
            for field in want_verdict.__dataclass_fields__:
                assert getattr(got_verdict, field) == getattr(want_verdict, field), (got.round_number, field)
        assert got.country_verdicts == want.country_verdicts
        assert got.events == want.events
        assert got.state.rows() == want.state.rows()  # the canonical form: what storage holds


def test_late_results_too_old_or_of_no_round_revise_nothing() -> None:
    five_minutes = timedelta(minutes=5)
    window = 3600.0  # 12 rounds
    late = [
        LateResult("p1", 100),  # 12 rounds back from 112: inside the window
        LateResult("p1", 99),  # 13 rounds back: too old
        LateResult("p2", 99),
        LateResult("p1", 105),  # never computed
    ]
    plan = plan_revisions(
        late, {99, 100, 101, 102}, current_round=112, revise_window_s=window, round_length=five_minutes
    )
    assert plan.dirty == (DirtyRound(100, 1, 1),)
    assert plan.recompute == (100, 101, 102)
    assert plan.refused == (Refusal(99, 2, REFUSED_TOO_OLD), Refusal(105, 1, REFUSED_NO_ROUND))


def test_no_late_results_recompute_nothing() -> None:
    plan = plan_revisions([], {1, 2}, current_round=3, round_length=ROUND)
    assert plan.dirty == () and plan.recompute == () and plan.refused == ()


def test_the_window_must_be_positive() -> None:
    assert window_rounds(7 * 24 * 3600.0, ROUND) == 2016
    with pytest.raises(ValueError, match="revise window"):
        window_rounds(0.0, ROUND)
