"""The vectorised fast path (fast.py) gives the verdicts of the reference path."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from vantage.collector.verdict.engine import EngineState, VerdictConfig, evaluate_round
from vantage.collector.verdict.simulate import SimulationConfig, simulate

FAST, REFERENCE = VerdictConfig(), VerdictConfig(vectorized=False)


@pytest.mark.parametrize(
    ("seed", "routing"),
    [(1, False), (2, False), (3, True), (4, True)],
    ids=["1", "2", "routing-3", "routing-4"],
)
def test_fast_and_reference_paths_agree_on_a_simulated_day(seed: int, routing: bool) -> None:
    # With routing: withdrawals and data-plane cuts, a feed outage and hijack-like re-announcements.
    config = SimulationConfig(
        ases=12,
        targets_per_as=6,
        outside_probes=14,
        rounds=60,
        outages=4,
        throttles=2,
        filterings=2,
        liars=1,
        routing=routing,
        feed_outages=int(routing),
        hijacks=2 * int(routing),
    )
    _, rounds = simulate(config, random.Random(seed))
    fast_state = reference_state = EngineState.initial()
    length = timedelta(minutes=config.round_minutes)
    for sim_round in rounds:
        kwargs = {
            "round_number": sim_round.number,
            "round_start": sim_round.start,
            "round_length": length,
            "routing": sim_round.routing,
        }
        fast = evaluate_round(sim_round.observations, fast_state, config=FAST, **kwargs)  # type: ignore[arg-type]
        reference = evaluate_round(sim_round.observations, reference_state, config=REFERENCE, **kwargs)  # type: ignore[arg-type]
        fast_state, reference_state = fast.state, reference.state
        assert fast.offline_probes == reference.offline_probes
        assert fast.suspect_probes == reference.suspect_probes
        assert [(e.id, e.mechanism) for e in fast.events] == [(e.id, e.mechanism) for e in reference.events]
        assert len(fast.as_verdicts) == len(reference.as_verdicts)
        for a, b in zip(fast.as_verdicts, reference.as_verdicts, strict=True):
            assert (a.asn, a.status, a.since) == (b.asn, b.status, b.since)
            assert (a.mechanism, a.layer) == (b.mechanism, b.layer)
            assert a.evidence.mechanism_reason == b.evidence.mechanism_reason
            assert a.evidence.routing == b.evidence.routing
            assert a.confidence == pytest.approx(b.confidence, abs=1e-6)
            assert a.belief == pytest.approx(b.belief, abs=1e-6)
            assert a.reachability_ratio == b.reachability_ratio
            ea, eb = a.evidence, b.evidence
            assert (ea.vantage_points, ea.vantage_asns, ea.targets) == (
                eb.vantage_points,
                eb.vantage_asns,
                eb.targets,
            )
            assert (ea.protocols, ea.failures, ea.suspect_probes) == (
                eb.protocols,
                eb.failures,
                eb.suspect_probes,
            )
            assert ea.summary == eb.summary
            for x, y in ((ea.loss_ratio, eb.loss_ratio), (ea.rtt_ms, eb.rtt_ms)):
                assert x == pytest.approx(y)
        assert fast.country_verdicts == reference.country_verdicts


def test_both_paths_learn_the_same_state() -> None:
    config = SimulationConfig(ases=10, targets_per_as=6, outside_probes=12, rounds=30, outages=2, throttles=1)
    _, rounds = simulate(config, random.Random(3))
    fast_state = reference_state = EngineState.initial()
    length = timedelta(minutes=config.round_minutes)
    for sim_round in rounds:
        kwargs = {"round_number": sim_round.number, "round_start": sim_round.start, "round_length": length}
        fast_state = evaluate_round(sim_round.observations, fast_state, config=FAST, **kwargs).state  # type: ignore[arg-type]
        reference_state = evaluate_round(
            sim_round.observations, reference_state, config=REFERENCE, **kwargs
        ).state  # type: ignore[arg-type]
        assert fast_state.targets == reference_state.targets
        assert fast_state.tracks == reference_state.tracks
        assert {a: m.status for a, m in fast_state.ases.items()} == {
            a: m.status for a, m in reference_state.ases.items()
        }
