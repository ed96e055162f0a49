"""Scoring the inside view on simulated rounds: the silence signal and late uploads (issue 21).

The simulated collector does what the round loop does around the engine, through the same pure
modules:

- **Silence.** Each round, after the verdicts, collector/verdict/silence.py's `step` over the
  connected probes of every scope, with the scopes judged DOWN this round; a burst without an
  outside-in DOWN opens a "probes disconnected" event, which closes once `silence.reconnected`
  (as collector/service/silence_signal.py does). Scored against the staged disconnections: an
  event is true when it overlaps a staged disconnection or an outage of its scope (an AS, or an AS
  of its country: a cut silences its inside probes too); recall counts the staged disconnections
  found by an event of their AS or country.
- **Late uploads.** Results of a late-upload cut arrive after it ends. The collector plans with
  collector/verdict/revisions.py's `plan_revisions` and recomputes with its `recompute` (the path
  collector/service/revisions.py composes with judge_round.py), from the state held before the
  earliest dirty round; the recomputed rounds' verdicts replace the first ones, the events they
  emit replace theirs by id, and an event opened in a recomputed round that the recomputation did
  not emit is withdrawn. Scored: the revised timeline against a run that had every result on time
  (AS verdicts compared field by field: 0 mismatches expected), how many AS-rounds of the cuts are
  DOWN and have results from the AS's inside probes, first and revised, and whether each cut's
  outage event was revised (re-emitted with the same id) rather than duplicated. (The engine
  counts a probe whose every measurement fails while others answer as offline, so a cut probe's
  own results do not change its AS's status: the revised verdicts equal the first ones.)

Pure: plain data in, scores out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vantage.collector.bgp.model import AsRouting
from vantage.collector.verdict import silence
from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.engine import RoundOutput, evaluate_round
from vantage.collector.verdict.model import AsVerdict, Event, EventKind, Observation, Status
from vantage.collector.verdict.revisions import LateResult, plan_revisions, recompute
from vantage.collector.verdict.simulate import World
from vantage.collector.verdict.state import EngineState


@dataclass(slots=True)
class SilenceEvent:
    """A "probes disconnected" event of the simulated collector."""

    scope: str
    start_round: int
    went_silent: frozenset[str]
    end_round: int | None = None  # exclusive; None while open


@dataclass(slots=True)
class SilenceTracker:
    memory: dict[str, silence.ScopeMemory] = field(default_factory=dict)
    events: list[SilenceEvent] = field(default_factory=list)
    open: dict[str, SilenceEvent] = field(default_factory=dict)
    corroborations: set[tuple[str, int]] = field(default_factory=set)  # (scope, round)

    def observe(self, number: int, connected: Mapping[str, frozenset[str]], output: RoundOutput) -> None:
        down = frozenset(
            [f"AS{v.asn}" for v in output.as_verdicts if v.status is Status.DOWN]
            + [c.country for c in output.country_verdicts if c.status is Status.DOWN]
        )
        signals, self.memory = silence.step(connected, self.memory, down, round_number=number)
        for signal in signals:
            if signal.kind == silence.CORROBORATES_DOWN:
                self.corroborations.add((signal.scope, number))
            elif signal.scope not in self.open:
                event = SilenceEvent(signal.scope, number, frozenset(signal.went_silent))
                self.open[signal.scope] = event
                self.events.append(event)
        for scope, event in list(self.open.items()):
            if event.start_round != number and silence.reconnected(
                event.went_silent, connected.get(scope, frozenset())
            ):
                event.end_round = number
                del self.open[scope]


@dataclass(frozen=True, slots=True)
class SilenceScore:
    true_disconnections: int
    found_disconnections: int
    detected_events: int
    matched_events: int
    mean_delay_rounds: float | None
    corroborated_outages: int  # outages whose probes' silence corroborated the outside-in DOWN
    outages_with_inside_probes: int

    @property
    def recall(self) -> float | None:
        return self.found_disconnections / self.true_disconnections if self.true_disconnections else None

    @property
    def precision(self) -> float | None:
        return self.matched_events / self.detected_events if self.detected_events else None

    @property
    def false_events(self) -> int:
        return self.detected_events - self.matched_events


def _in_scope(world: World, scope: str, asn: int) -> bool:
    return scope == f"AS{asn}" or scope == world.as_country.get(asn)


def _overlaps(event: SilenceEvent, start: int, end: int, rounds: int) -> bool:
    return event.start_round < end and (event.end_round if event.end_round is not None else rounds) > start


def score_silence(world: World, tracker: SilenceTracker) -> SilenceScore:
    rounds = world.config.rounds
    windows = list(world.disconnections) + [
        (t.asn, t.start_round, t.end_round) for t in world.truth if t.kind is EventKind.OUTAGE
    ]
    matched = sum(
        1
        for e in tracker.events
        if any(_in_scope(world, e.scope, a) and _overlaps(e, s, end, rounds) for a, s, end in windows)
    )
    delays: list[int] = []
    for asn, start, end in world.disconnections:
        found = [
            e for e in tracker.events if _in_scope(world, e.scope, asn) and _overlaps(e, start, end, rounds)
        ]
        if found:
            delays.append(min(e.start_round for e in found) - start)
    outages = [t for t in world.truth if t.kind is EventKind.OUTAGE and t.asn in world.inside_of]
    corroborated = sum(
        1
        for t in outages
        if any((f"AS{t.asn}", n) in tracker.corroborations for n in range(t.start_round, t.end_round))
    )
    return SilenceScore(
        true_disconnections=len(world.disconnections),
        found_disconnections=len(delays),
        detected_events=len(tracker.events),
        matched_events=matched,
        mean_delay_rounds=sum(delays) / len(delays) if delays else None,
        corroborated_outages=corroborated,
        outages_with_inside_probes=len(outages),
    )


@dataclass(slots=True)
class SimCollector:
    """The simulated collector's store: each round's observations, the state before it, its
    verdicts (first and current) and the events by id, revised through revisions.py."""

    start: datetime
    round_length: timedelta
    config: VerdictConfig | None
    observations: dict[int, list[Observation]] = field(default_factory=dict)
    state_before: dict[int, EngineState] = field(default_factory=dict)
    routing: dict[int, Mapping[int, AsRouting] | None] = field(default_factory=dict)
    first: dict[int, tuple[AsVerdict, ...]] = field(default_factory=dict)
    first_heard: dict[int, frozenset[str]] = field(default_factory=dict)  # probes with results, first
    current: dict[int, tuple[AsVerdict, ...]] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    revised_event_ids: set[str] = field(default_factory=set)
    withdrawn_events: int = 0
    revisions: int = 0
    revised_rounds: int = 0
    late_results: int = 0

    def computed(
        self,
        number: int,
        observations: Sequence[Observation],
        state_before: EngineState,
        routing: Mapping[int, AsRouting] | None,
        output: RoundOutput,
    ) -> None:
        self.observations[number] = list(observations)
        self.state_before[number] = state_before
        self.routing[number] = routing
        self.first[number] = self.current[number] = output.as_verdicts
        self.first_heard[number] = frozenset(o.probe_id for o in observations)
        self._put(output.events)

    def _put(self, events: Iterable[Event]) -> None:
        for event in events:
            held = self.events.get(event.id)
            if held is None or event.updated_round >= held.updated_round:
                self.events[event.id] = event

    def revise(
        self, current_round: int, late: Iterable[tuple[int, Sequence[Observation]]]
    ) -> EngineState | None:
        """Late results arrive after round `current_round` was computed: revise; the state after
        the latest round (None when nothing was revised)."""
        results: list[LateResult] = []
        for number, observations in late:
            self.observations.setdefault(number, []).extend(observations)
            results.extend(LateResult(o.probe_id, number) for o in observations)
        self.late_results += len(results)
        plan = plan_revisions(
            results, self.current.keys(), current_round=current_round, round_length=self.round_length
        )
        if not plan.dirty:
            return None
        first = plan.recompute[0]
        outputs = recompute(
            plan.recompute,
            self.state_before[first],
            self.observations.__getitem__,
            round_start_of=lambda n: self.start + n * self.round_length,
            round_length=self.round_length,
            config=self.config,
            routing_of=self.routing.get,
        )
        before = {k for k, e in self.events.items() if e.opened_round >= first}
        emitted: dict[str, Event] = {}
        for number, output in zip(plan.recompute, outputs, strict=True):
            self.current[number] = output.as_verdicts
            if number + 1 in self.state_before:
                self.state_before[number + 1] = output.state
            emitted.update((e.id, e) for e in output.events)
        for event_id in before - emitted.keys():
            del self.events[event_id]
            self.withdrawn_events += 1
        self.events.update(emitted)
        self.revised_event_ids |= emitted.keys()
        self.revisions += 1
        self.revised_rounds += len(outputs)
        return outputs[-1].state


@dataclass(frozen=True, slots=True)
class LateUploadScore:
    cuts: int
    late_results: int
    revisions: int
    revised_rounds: int
    cut_as_rounds: int  # AS-rounds inside the late-upload cuts
    down_first: int  # ... judged DOWN when first computed
    down_revised: int  # ... judged DOWN after the revisions
    inside_view_first: int  # ... in which the collector had results of the AS's inside probes, first
    inside_view_revised: int  # ... after the revisions
    timeline_mismatches: int  # AS-rounds where the revised verdict differs from the on-time one
    events_revised: int  # cuts whose outage event a revision re-emitted (same id)
    events_duplicated: int  # cuts matched by more than one outage event after the revisions
    events_missed: int  # cuts without an outage event
    events_withdrawn: int


def on_time_timeline(
    collector: SimCollector, rounds: int, routing_of: Mapping[int, Mapping[int, AsRouting] | None]
) -> dict[int, tuple[AsVerdict, ...]]:
    """The AS verdicts of every round had every result arrived on time (state through its bytes,
    as the live loop keeps it)."""
    state = EngineState.initial()
    out: dict[int, tuple[AsVerdict, ...]] = {}
    for number in range(rounds):
        output = evaluate_round(
            collector.observations.get(number, []),
            state,
            round_number=number,
            round_start=collector.start + number * collector.round_length,
            round_length=collector.round_length,
            config=collector.config,
            routing=routing_of.get(number),
        )
        out[number] = output.as_verdicts
        state = EngineState.from_bytes(output.state.to_bytes())
    return out


def score_late_uploads(world: World, collector: SimCollector) -> LateUploadScore:
    rounds = world.config.rounds
    on_time = on_time_timeline(collector, rounds, collector.routing)
    mismatches = 0
    for n in range(rounds):
        want, got = on_time[n], collector.current.get(n, ())
        mismatches += sum(a != b for a, b in zip(want, got, strict=False)) + abs(len(want) - len(got))
    cuts = [t for t in world.truth if t.late_upload]
    counts = {"as_rounds": 0, "down_first": 0, "down_revised": 0, "inside_first": 0, "inside_revised": 0}
    for t in cuts:
        for n in range(t.start_round, t.end_round):
            first = next((v for v in collector.first.get(n, ()) if v.asn == t.asn), None)
            now = next((v for v in collector.current.get(n, ()) if v.asn == t.asn), None)
            counts["as_rounds"] += 1
            counts["down_first"] += first is not None and first.status is Status.DOWN
            counts["down_revised"] += now is not None and now.status is Status.DOWN
            inside = {p.probe_id for p in world.inside_of.get(t.asn, ())}
            heard_now = {o.probe_id for o in collector.observations.get(n, ())}
            counts["inside_first"] += bool(inside & collector.first_heard.get(n, frozenset()))
            counts["inside_revised"] += bool(inside & heard_now)
    start, length = world.config.start, collector.round_length
    revised = duplicated = missed = 0
    for t in cuts:
        matching = [
            e
            for e in collector.events.values()
            if e.kind is EventKind.OUTAGE
            and e.asn == t.asn
            and (e.started_at - start) / length < t.end_round
            and (e.ended_at is None or (e.ended_at - start) / length > t.start_round)
        ]
        missed += not matching
        duplicated += len(matching) > 1
        revised += any(e.id in collector.revised_event_ids for e in matching)
    return LateUploadScore(
        cuts=len(cuts),
        late_results=collector.late_results,
        revisions=collector.revisions,
        revised_rounds=collector.revised_rounds,
        cut_as_rounds=counts["as_rounds"],
        down_first=counts["down_first"],
        down_revised=counts["down_revised"],
        inside_view_first=counts["inside_first"],
        inside_view_revised=counts["inside_revised"],
        timeline_mismatches=mismatches,
        events_revised=revised,
        events_duplicated=duplicated,
        events_missed=missed,
        events_withdrawn=collector.withdrawn_events,
    )
