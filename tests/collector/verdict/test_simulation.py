"""The issue's targets, scored on simulated rounds with ground truth (small worlds, a few seconds each)."""

from __future__ import annotations

import random
from itertools import islice

import pytest

from vantage.collector.verdict.model import EventKind
from vantage.collector.verdict.scoring import run_simulation, score_events
from vantage.collector.verdict.simulate import SimulationConfig, TruthEvent, simulate

SMALL = SimulationConfig(ases=8, targets_per_as=6, outside_probes=12, rounds=96, throttles=0, filterings=0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_outage_of_one_round_or_more_is_detected_within_one_round(seed: int) -> None:
    config = SimulationConfig(
        ases=8,
        targets_per_as=6,
        outside_probes=12,
        rounds=96,
        outages=8,
        throttles=0,
        filterings=0,
        max_event_rounds=6,
    )
    outage = run_simulation(config, random.Random(seed)).of(EventKind.OUTAGE)
    assert outage.true_events >= 6
    assert outage.recall == 1.0
    assert outage.precision == 1.0
    assert outage.max_delay_rounds is not None and outage.max_delay_rounds <= 1
    assert outage.max_duration_error_rounds is not None and outage.max_duration_error_rounds <= 0.5


def test_no_false_outage_over_24_hours_of_5_minute_rounds_with_loss_and_churn() -> None:
    config = SimulationConfig(
        ases=8,
        targets_per_as=6,
        outside_probes=12,
        rounds=288,
        round_minutes=5.0,
        loss=0.05,
        churn=0.05,
        offline_probes=2,
        outages=0,
        throttles=2,
        filterings=2,
    )
    score = run_simulation(config, random.Random(11))
    assert score.of(EventKind.OUTAGE).detected_events == 0
    assert score.offline_probe_rounds > 0  # the offline probes were there, and excluded


def test_a_quiet_day_raises_no_event_of_any_kind() -> None:
    config = SimulationConfig(
        ases=8, targets_per_as=6, outside_probes=12, rounds=288, outages=0, throttles=0, filterings=0
    )
    score = run_simulation(config, random.Random(5))
    assert [k.detected_events for k in score.kinds] == [0, 0, 0]


def test_one_lying_probe_out_of_five_vantage_points_never_flips_an_as() -> None:
    config = SimulationConfig(
        ases=8,
        targets_per_as=6,
        outside_probes=12,
        vantage_points=5,
        liars=1,
        rounds=96,
        outages=4,
        throttles=2,
        filterings=0,
    )
    score = run_simulation(config, random.Random(7))
    assert score.liar_flips == 0
    outage = score.of(EventKind.OUTAGE)
    assert outage.recall == 1.0 and outage.precision == 1.0


def test_throttling_and_filtering_are_detected_without_false_events() -> None:
    config = SimulationConfig(
        ases=10,
        targets_per_as=6,
        outside_probes=12,
        rounds=96,
        outages=2,
        throttles=3,
        filterings=3,
        inside_share=0.5,
    )
    score = run_simulation(config, random.Random(1))
    for kind in (EventKind.DEGRADATION, EventKind.FILTERING):
        k = score.of(kind)
        assert k.true_events > 0
        assert k.recall == 1.0, kind
        assert k.precision == 1.0, kind
        assert k.max_delay_rounds is not None and k.max_delay_rounds <= 2


def test_the_simulator_is_seeded() -> None:
    def first_rounds(seed: int) -> list[tuple[object, ...]]:
        world, rounds = simulate(SMALL, random.Random(seed))
        return [world.truth, *(r.observations for r in islice(rounds, 3))]

    assert first_rounds(4) == first_rounds(4)
    assert first_rounds(4) != first_rounds(5)


def test_scoring_counts_misses_and_false_events() -> None:
    from datetime import UTC, datetime, timedelta

    from vantage.collector.verdict.model import Event

    start, length = datetime(2022, 1, 5, tzinfo=UTC), timedelta(minutes=5)
    truth = [TruthEvent(EventKind.OUTAGE, 1, "KZ", 10, 14), TruthEvent(EventKind.OUTAGE, 2, "KZ", 20, 22)]
    found = Event(
        "a", EventKind.OUTAGE, 1, "KZ", start + 11 * length, start + 14 * length, 1.0, 1.0, "", 12, 15
    )
    false = Event("b", EventKind.OUTAGE, 3, "KZ", start + 5 * length, None, 1.0, 1.0, "", 6, 7)
    (outage, *_) = score_events(truth, [found, false], start=start, round_length=length, rounds=30)
    assert (outage.recall, outage.precision, outage.false_events) == (0.5, 0.5, 1)
    assert outage.max_delay_rounds == 2
    assert outage.max_duration_error_rounds == 1.0
