"""Scoring the engine against the simulator's ground truth: precision, recall, delay, duration error.

A detected AS event matches a true event of the same kind on the same AS when their round intervals
overlap (the detected interval is taken from its backdated start and end). Per kind:

* recall    = true events matched / true events;
* precision = detected events that match a true event / detected events;
* detection delay (rounds) = the round in which the engine opened the event - the true start round;
* duration error (rounds)  = |detected duration - true duration| (an event still open at the end of
  the run ends there);
* start error (rounds)     = |detected start - true start|.

Mechanism accuracy (issue 17): for each true event found, the mechanism of the matching detected
event (its latest update) against the one a correct engine names (simulate.World.expected_mechanism),
as a confusion table; an event not found counts in the "missed" column. During staged hijacks the
AS must stay UP: every AS-round judged otherwise is a hijack flip.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from vantage.collector.verdict.engine import EngineState, VerdictConfig, evaluate_round
from vantage.collector.verdict.inside_scoring import (
    LateUploadScore,
    SilenceScore,
    SilenceTracker,
    SimCollector,
    score_late_uploads,
    score_silence,
)
from vantage.collector.verdict.model import AsVerdict, Event, EventKind, Mechanism, Status
from vantage.collector.verdict.simulate import SimRound, SimulationConfig, TruthEvent, World, simulate

if TYPE_CHECKING:
    import random


@dataclass(frozen=True, slots=True)
class KindScore:
    kind: EventKind
    true_events: int
    detected_events: int
    matched_true: int
    matched_detected: int
    mean_delay_rounds: float | None
    max_delay_rounds: int | None
    mean_duration_error_rounds: float | None
    max_duration_error_rounds: float | None
    max_start_error_rounds: float | None

    @property
    def recall(self) -> float | None:
        return self.matched_true / self.true_events if self.true_events else None

    @property
    def precision(self) -> float | None:
        return self.matched_detected / self.detected_events if self.detected_events else None

    @property
    def false_events(self) -> int:
        return self.detected_events - self.matched_detected


@dataclass(frozen=True, slots=True)
class SimulationScore:
    rounds: int
    observations: int
    kinds: tuple[KindScore, ...]
    # AS-rounds on which a liar measured an AS and the AS's status disagreed with the truth
    liar_flips: int
    offline_probe_rounds: int  # (probe, round) pairs the engine excluded as offline
    # (probe, round) pairs where a probe that measured something was really offline
    true_offline_probe_rounds: int
    # (expected, found or None when the event was missed, count), sorted
    mechanisms: tuple[tuple[Mechanism, Mechanism | None, int], ...] = ()
    hijack_rounds: int = 0  # AS-rounds inside staged hijacks with a verdict
    hijack_flips: int = 0  # ... of which the AS was not judged UP
    feed_down_rounds: int = 0  # rounds with the route feed down
    # AS-rounds a poisoner measured with a verdict, those whose status disagreed with the truth,
    # and those judged DEGRADED while the AS was in truth UP
    poisoned_rounds: int = 0
    poison_flips: int = 0
    poison_false_degraded: int = 0
    poison_false_throttling: int = 0  # ... of which for loss or RTT (the poisoner's only lever)
    silence: SilenceScore | None = None
    late_uploads: LateUploadScore | None = None  # None: no late-upload cuts staged

    @property
    def mechanism_accuracy(self) -> float | None:
        """Right mechanisms / true events found."""
        found = sum(n for _, got, n in self.mechanisms if got is not None)
        right = sum(n for want, got, n in self.mechanisms if got is want)
        return right / found if found else None

    def of(self, kind: EventKind) -> KindScore:
        return next(k for k in self.kinds if k.kind is kind)


@dataclass(frozen=True, slots=True)
class _Detected:
    event: Event
    start_round: float
    end_round: float


def score_events(
    truth: Iterable[TruthEvent],
    detected: Iterable[Event],
    *,
    start: datetime,
    round_length: timedelta,
    rounds: int,
) -> tuple[KindScore, ...]:
    def at(t: datetime) -> float:
        return (t - start) / round_length

    latest: dict[str, Event] = {}
    for event in detected:
        if event.asn and (event.id not in latest or event.updated_round >= latest[event.id].updated_round):
            latest[event.id] = event
    found = [
        _Detected(e, at(e.started_at), at(e.ended_at) if e.ended_at is not None else float(rounds))
        for e in latest.values()
    ]
    truths = list(truth)
    scores = []
    for kind in (EventKind.OUTAGE, EventKind.DEGRADATION, EventKind.FILTERING):
        kind_truth = [t for t in truths if t.kind is kind]
        kind_found = [d for d in found if d.event.kind is kind]
        delays: list[int] = []
        duration_errors: list[float] = []
        start_errors: list[float] = []
        matched_found: set[str] = set()
        matched_true = 0
        for t in kind_truth:
            overlapping = [
                d
                for d in kind_found
                if d.event.asn == t.asn and d.start_round < t.end_round and d.end_round > t.start_round
            ]
            if not overlapping:
                continue
            matched_true += 1
            matched_found.update(d.event.id for d in overlapping)
            first = min(overlapping, key=lambda d: d.start_round)
            last_end = max(d.end_round for d in overlapping)
            delays.append(first.event.opened_round - t.start_round)
            duration_errors.append(abs((last_end - first.start_round) - t.rounds))
            start_errors.append(abs(first.start_round - t.start_round))
        scores.append(
            KindScore(
                kind=kind,
                true_events=len(kind_truth),
                detected_events=len(kind_found),
                matched_true=matched_true,
                matched_detected=len(matched_found),
                mean_delay_rounds=sum(delays) / len(delays) if delays else None,
                max_delay_rounds=max(delays) if delays else None,
                mean_duration_error_rounds=sum(duration_errors) / len(duration_errors)
                if duration_errors
                else None,
                max_duration_error_rounds=max(duration_errors) if duration_errors else None,
                max_start_error_rounds=max(start_errors) if start_errors else None,
            )
        )
    return tuple(scores)


def score_mechanisms(
    world: World,
    detected: Iterable[Event],
    *,
    round_length: timedelta,
) -> tuple[tuple[Mechanism, Mechanism | None, int], ...]:
    config = world.config
    latest: dict[str, Event] = {}
    for event in detected:
        if event.asn and (event.id not in latest or event.updated_round >= latest[event.id].updated_round):
            latest[event.id] = event

    def at(t: datetime) -> float:
        return (t - config.start) / round_length

    counts: Counter[tuple[Mechanism, Mechanism | None]] = Counter()
    for t in world.truth:
        overlapping = [
            e
            for e in latest.values()
            if e.kind is t.kind
            and e.asn == t.asn
            and at(e.started_at) < t.end_round
            and (e.ended_at is None or at(e.ended_at) > t.start_round)
        ]
        found = max(overlapping, key=lambda e: e.updated_round).mechanism if overlapping else None
        counts[(world.expected_mechanism(t), found)] += 1
    return tuple(
        (want, got, n) for (want, got), n in sorted(counts.items(), key=lambda x: (x[0][0], x[0][1] or -1))
    )


_THROTTLING_SUMMARY = "DEGRADED: throttling:"
_TRUE_STATUS = {EventKind.OUTAGE: Status.DOWN, EventKind.DEGRADATION: Status.DEGRADED}


def run_simulation(
    config: SimulationConfig, rng: random.Random, verdict_config: VerdictConfig | None = None
) -> SimulationScore:
    """Simulate, evaluate every round (state through its byte form, as the collector stores it), score."""
    world, rounds = simulate(config, rng)
    round_length = timedelta(minutes=config.round_minutes)
    state = EngineState.initial()
    observations = liar_flips = offline_rounds = true_offline = 0
    liars = set(world.lies_about)
    hijack_rounds = hijack_flips = 0
    poisoners = set(world.poisons)
    poisoned = [0, 0, 0, 0]  # AS-rounds, flips, false DEGRADED, of which for throttling
    tracker = SilenceTracker()
    collector = SimCollector(config.start, round_length, verdict_config)
    for sim_round in rounds:
        state_before = state
        out = evaluate_round(
            sim_round.observations,
            state,
            round_number=sim_round.number,
            round_start=sim_round.start,
            round_length=round_length,
            config=verdict_config,
            routing=sim_round.routing,
        )
        for verdict in out.as_verdicts:
            if world.hijacked(verdict.asn, sim_round.number):
                hijack_rounds += 1
                hijack_flips += verdict.status is not Status.UP
        state = EngineState.from_bytes(out.state.to_bytes())
        collector.computed(sim_round.number, sim_round.observations, state_before, sim_round.routing, out)
        tracker.observe(sim_round.number, sim_round.connected, out)
        if sim_round.late:
            revised = collector.revise(sim_round.number, sim_round.late)
            if revised is not None:
                state = EngineState.from_bytes(revised.to_bytes())
        if poisoners:
            _score_poisoners(world, sim_round, out.as_verdicts, poisoners, poisoned)
        observations += len(sim_round.observations)
        offline_rounds += len(out.offline_probes)
        measuring = {o.probe_id for o in sim_round.observations}
        true_offline += sum(
            1
            for probe_id, (s, e) in world.offline_windows.items()
            if s <= sim_round.number < e and probe_id in measuring
        )
        if liars:
            measured_by_liar = {
                o.target_asn for o in sim_round.observations if o.probe_id in liars and o.kind == 1
            }
            for verdict in out.as_verdicts:
                if verdict.asn not in measured_by_liar or verdict.status is Status.UNKNOWN:
                    continue
                truth = _true_status(world, verdict, sim_round.number)
                if verdict.status is not truth and verdict.status is not Status.FILTERED:
                    liar_flips += 1
    events = list(collector.events.values())
    kinds = score_events(
        world.truth, events, start=config.start, round_length=round_length, rounds=config.rounds
    )
    return SimulationScore(
        config.rounds,
        observations,
        kinds,
        liar_flips,
        offline_rounds,
        true_offline,
        mechanisms=score_mechanisms(world, events, round_length=round_length),
        hijack_rounds=hijack_rounds,
        hijack_flips=hijack_flips,
        feed_down_rounds=len(world.feed_down),
        poisoned_rounds=poisoned[0],
        poison_flips=poisoned[1],
        poison_false_degraded=poisoned[2],
        poison_false_throttling=poisoned[3],
        silence=score_silence(world, tracker),
        late_uploads=score_late_uploads(world, collector) if config.late_uploads else None,
    )


def _true_status(world: World, verdict: AsVerdict, number: int) -> Status:
    """The status a correct engine gives the AS in round `number` (FILTERING: whatever it said)."""
    truth = Status.UP
    for t in world.truth:
        if t.asn == verdict.asn and t.start_round <= number < t.end_round:
            truth = _TRUE_STATUS.get(t.kind, verdict.status)
    return truth


def _score_poisoners(
    world: World, sim_round: SimRound, verdicts: Iterable[AsVerdict], poisoners: set[str], into: list[int]
) -> None:
    """Count, like the liar's, the AS-rounds a poisoner measured: flips and false DEGRADED."""
    measured = {o.target_asn for o in sim_round.observations if o.probe_id in poisoners and o.kind == 1}
    for verdict in verdicts:
        if verdict.asn not in measured or verdict.status is Status.UNKNOWN:
            continue
        truth = _true_status(world, verdict, sim_round.number)
        into[0] += 1
        into[1] += verdict.status is not truth and verdict.status is not Status.FILTERED
        false_degraded = verdict.status is Status.DEGRADED and truth is Status.UP
        into[2] += false_degraded
        # The poisoner answers truthfully: its only lever is loss and RTT, i.e. throttling
        # (summary.py names the reason).
        into[3] += false_degraded and _THROTTLING_SUMMARY in verdict.evidence.summary
