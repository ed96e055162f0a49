"""The simulator's inside-view scenarios (issues 19 and 21), scored: probe disconnections through
the silence signal, late uploads through revisions, and a poisoner among the vantage points.
Bounded worlds, so that each runs in seconds."""

from __future__ import annotations

import random

from vantage.collector.verdict.model import EventKind
from vantage.collector.verdict.scoring import run_simulation
from vantage.collector.verdict.simulate import SimulationConfig, simulate

QUIET = {"outages": 0, "throttles": 0, "filterings": 0}
SMALL = {"ases": 6, "targets_per_as": 6, "outside_probes": 8, "offline_probes": 1}


def test_staged_disconnections_open_probes_disconnected_events() -> None:
    config = SimulationConfig(
        **SMALL,
        **QUIET,
        rounds=48,
        inside_share=1.0,
        min_inside_probes=5,
        max_inside_probes=7,
        disconnections=3,
    )
    silence = run_simulation(config, random.Random(2)).silence
    assert silence is not None
    assert silence.true_disconnections == 3
    assert (silence.recall, silence.precision, silence.false_events) == (1.0, 1.0, 0)
    assert silence.mean_delay_rounds == 0.0  # the round the probes went silent


def test_ordinary_churn_over_a_simulated_day_opens_no_event() -> None:
    # 24 h of 5-minute rounds, every probe absent 5 % of rounds at random, no staged event at all.
    config = SimulationConfig(
        ases=4,
        targets_per_as=3,
        outside_probes=6,
        offline_probes=0,
        **QUIET,
        rounds=288,
        churn=0.05,
        inside_share=1.0,
        min_inside_probes=5,
        max_inside_probes=8,
    )
    world, rounds = simulate(config, random.Random(1))
    # Inside probe-rounds missing by churn alone: the scopes did flap.
    missing = sum(
        len(probes) - len(r.connected[f"AS{asn}"]) for r in rounds for asn, probes in world.inside_of.items()
    )
    assert missing > 0.03 * 288 * sum(map(len, world.inside_of.values()))
    silence = run_simulation(config, random.Random(1)).silence
    assert silence is not None
    assert silence.detected_events == 0


def test_late_uploads_revise_the_timeline_to_what_on_time_results_give() -> None:
    config = SimulationConfig(**SMALL, **QUIET, rounds=40, inside_share=1.0, late_uploads=2)
    score = run_simulation(config, random.Random(3))
    late = score.late_uploads
    assert late is not None and late.cuts == 2
    assert late.late_results > 0 and late.revisions == 2
    # First the collector had nothing from inside the cut ASes; after the revisions it has it all.
    assert late.inside_view_first == 0
    assert late.inside_view_revised == late.cut_as_rounds
    assert late.down_revised == late.cut_as_rounds  # the truth
    assert late.timeline_mismatches == 0  # the same verdicts as had every result arrived on time
    # Each cut's outage event was revised (same id), never duplicated or lost.
    assert (late.events_revised, late.events_duplicated, late.events_missed) == (2, 0, 0)
    outage = score.of(EventKind.OUTAGE)
    assert (outage.recall, outage.precision) == (1.0, 1.0)


def test_one_poisoner_among_the_vantage_points_neither_fakes_nor_hides_throttling() -> None:
    config = SimulationConfig(
        **{**SMALL, "targets_per_as": 10}, rounds=60, outages=1, throttles=3, filterings=0, poisoners=1
    )
    score = run_simulation(config, random.Random(5))
    assert score.poisoned_rounds > 0
    assert score.poison_false_throttling == 0
    degradation = score.of(EventKind.DEGRADATION)
    assert degradation.true_events == 3
    assert (degradation.recall, degradation.precision) == (1.0, 1.0)
