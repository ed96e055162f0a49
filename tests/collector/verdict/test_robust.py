"""Robust statistics in the verdict (issue 19): one vantage point can neither poison an AS's
baseline nor hide or fake throttling (collector/verdict/robust.py)."""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import timedelta

import pytest

from vantage.collector.verdict.engine import EngineState, VerdictConfig, evaluate_round
from vantage.collector.verdict.model import Observation, Status
from vantage.collector.verdict.robust import median, vantage_point_mean, winsorised
from vantage.collector.verdict.simulate import SimulationConfig, simulate

from .helpers import TARGET_ASN, full_round, run, verdict_of

HONEST = range(3)  # probes p0..p2, each in its own AS
POISONER = 3


def test_one_extreme_value_among_n_stays_within_the_others() -> None:
    honest = [20.0, 21.0, 22.0, 23.0]
    for extreme in (1e308, 0.0, 1e-300):
        figure = median([*honest, extreme])
        assert figure is not None and min(honest) <= figure <= max(honest)
    assert median([20.0, 1e308]) == pytest.approx(5e307)  # two witnesses: no majority to trust
    assert median([1e308, 1e308]) == 1e308  # the mean of the middle two does not overflow
    assert median([None, None]) is None


def test_a_vantage_points_mean_leaves_out_non_finite_and_negative_values() -> None:
    assert vantage_point_mean([40.0, math.inf, 42.0, math.nan, -5.0, None]) == pytest.approx(41.0)
    assert vantage_point_mean([math.inf, math.nan]) is None
    assert vantage_point_mean([1e308] * 6) == pytest.approx(1e308)  # no overflow to inf


def test_a_baseline_update_is_winsorised_against_the_baseline() -> None:
    # RTT: at most max(3x, +50 ms), at least min(/3, -50 ms).
    assert winsorised(1e308, 40.0, factor=3.0, increase=50.0) == 120.0
    assert winsorised(0.001, 40.0, factor=3.0, increase=50.0) == 0.001  # 40 - 50 < 0: the floor
    assert winsorised(0.001, 300.0, factor=3.0, increase=50.0) == 100.0
    assert winsorised(45.0, 40.0, factor=3.0, increase=50.0) == 45.0
    assert winsorised(45.0, None, factor=3.0, increase=50.0) == 45.0


def _poisoned_round(
    rtt_ms: float, loss_ratio: float = 0.0, *, honest_rtt_ms: float = 40.0
) -> list[Observation]:
    return [
        *full_round(TARGET_ASN, HONEST, 10, ok=True, rtt_ms=honest_rtt_ms),
        *full_round(TARGET_ASN, [POISONER], 10, ok=True, rtt_ms=rtt_ms, loss_ratio=loss_ratio),
    ]


@pytest.mark.parametrize("extreme", [math.inf, math.nan, 1e308])
def test_one_probe_reporting_an_extreme_rtt_does_not_move_the_baseline(extreme: float) -> None:
    outputs = run([_poisoned_round(extreme, 0.99) for _ in range(8)])
    v = verdict_of(outputs[-1])
    assert v.status is Status.UP
    assert v.evidence.rtt_ms == pytest.approx(40.0)
    memory = outputs[-1].state.ases[TARGET_ASN]
    assert memory.baseline_rtt_ms == pytest.approx(40.0)
    assert memory.baseline_loss_ratio == pytest.approx(0.0)


def test_one_poisoner_cannot_hide_throttling() -> None:
    # The poisoner reports 1e308 ms while the AS is normal, then a clean 40 ms while it is throttled.
    rounds = [_poisoned_round(1e308, 0.99) for _ in range(8)]
    rounds.append(
        [
            *full_round(TARGET_ASN, HONEST, 10, ok=True, rtt_ms=200.0, loss_ratio=2 / 3),
            *full_round(TARGET_ASN, [POISONER], 10, ok=True, rtt_ms=40.0),
        ]
    )
    v = verdict_of(run(rounds)[-1])
    assert v.status is Status.DEGRADED
    assert "throttling" in v.evidence.summary


def test_one_poisoner_cannot_fake_throttling() -> None:
    # Near-zero RTTs would drag a mean baseline down until the honest 40 ms looked slow.
    outputs = run([_poisoned_round(0.001, honest_rtt_ms=45.0) for _ in range(30)])
    assert all(verdict_of(out).status is Status.UP for out in outputs)
    assert outputs[-1].state.ases[TARGET_ASN].baseline_rtt_ms == pytest.approx(45.0)


def test_a_stored_non_finite_baseline_is_learned_again() -> None:
    # State written before the fix could hold Infinity or NaN: it is dropped, never propagated.
    state = run([full_round(TARGET_ASN, HONEST, 10, ok=True) for _ in range(4)])[-1].state
    memory = state.ases[TARGET_ASN]._replace(baseline_rtt_ms=math.nan, baseline_loss_ratio=math.inf)
    state = dataclasses.replace(state, ases={**state.ases, TARGET_ASN: memory})
    state = EngineState.from_bytes(state.to_bytes())
    out = evaluate_round(
        full_round(TARGET_ASN, HONEST, 10, ok=True),
        state,
        round_number=4,
        round_start=state.ases[TARGET_ASN].since,
        round_length=timedelta(minutes=5),
    )
    learned = out.state.ases[TARGET_ASN]
    assert learned.baseline_rtt_ms == pytest.approx(40.0)
    assert learned.baseline_loss_ratio == pytest.approx(0.0)


def test_fast_and_reference_paths_give_the_same_figures_with_a_poisoner() -> None:
    config = SimulationConfig(
        ases=8, targets_per_as=6, outside_probes=10, rounds=30, throttles=2, poisoners=1
    )
    _, rounds = simulate(config, random.Random(4))
    fast_state = reference_state = EngineState.initial()
    for sim_round in rounds:
        outs = [
            evaluate_round(
                sim_round.observations,
                state,
                round_number=sim_round.number,
                round_start=sim_round.start,
                round_length=timedelta(minutes=config.round_minutes),
                config=vc,
            )
            for state, vc in (
                (fast_state, VerdictConfig()),
                (reference_state, VerdictConfig(vectorized=False)),
            )
        ]
        fast_state, reference_state = outs[0].state, outs[1].state
        for a, b in zip(outs[0].as_verdicts, outs[1].as_verdicts, strict=True):
            assert (a.asn, a.status) == (b.asn, b.status)
            for x, y in (
                (a.evidence.rtt_ms, b.evidence.rtt_ms),
                (a.evidence.loss_ratio, b.evidence.loss_ratio),
            ):
                assert x == pytest.approx(y)
                if a.evidence.vantage_points >= 3:  # the median, never the poisoner's 1e308
                    assert x is None or x < 1e6
