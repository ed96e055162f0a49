"""The verdict engine's entry point: one round of observations in, verdicts, events and state out.

Stages (each its own module, each pure):
1. classify every observation once: answered / unanswered / proves nothing (classify.py);
2. vantage-point sanity: offline probes are excluded (vantage_points.py);
3. outside-in reachability per target AS: Bayesian belief weighted by target availability, votes,
   corroboration, partial reachability and throttling (reachability.py, availability.py);
4. inside-out interference per probe AS, against control vantage points elsewhere (interference.py);
5. combine: DOWN/DEGRADED from reachability, else FILTERED from interference, else UP/UNKNOWN;
   then fuse with the routing signal, when there is one, and name the mechanism (mechanism.py);
6. roll up per country (country.py); open/update/close events with hysteresis (events.py);
7. learn: target availabilities and AS baselines, only from rounds judged UP (baseline updates
   winsorised against the baseline, robust.py);
8. forget: ASes and targets not measured for `forget_after_s` (counted in rounds of
   `round_length`) leave the state, so it stays bounded (state.py).

No I/O, no clock, no randomness: `round_start` is an argument, and the same observations with the
same state give the same output (outputs are sorted; input order does not matter beyond float
rounding at the sixth decimal).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import repeat

from vantage.collector.bgp.model import AsRouting, RoutingState
from vantage.collector.verdict import availability as availability_mod
from vantage.collector.verdict.availability import Tally
from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.country import AsSummary, roll_up
from vantage.collector.verdict.events import EVENT_KINDS, KIND_OF_STATUS, RoundMark, step
from vantage.collector.verdict.fast import Learned, PlainTallies, evaluate_fast
from vantage.collector.verdict.grouping import VantageView, group
from vantage.collector.verdict.interference import Interference, judge_all
from vantage.collector.verdict.mechanism import fuse
from vantage.collector.verdict.model import (
    AsVerdict,
    CountryVerdict,
    Event,
    EventKind,
    Evidence,
    Layer,
    Mechanism,
    Observation,
    Status,
)
from vantage.collector.verdict.reachability import Reachability, Thresholds, judge, sigmoid
from vantage.collector.verdict.robust import finite_or_none, winsorised
from vantage.collector.verdict.round_columns import RoundColumns
from vantage.collector.verdict.state import AsMemory, CountryMemory, EngineState, EventTrack, TargetMemory
from vantage.collector.verdict.summary import as_summary, up_summary
from vantage.collector.verdict.vantage_points import find_offline

# The hot path reads module constants, not the enum's descriptor.
_UP, _UNKNOWN = Status.UP, Status.UNKNOWN

__all__ = ["ALGORITHM_VERSION", "EngineState", "RoundOutput", "VerdictConfig", "evaluate_round"]

# Stored with every verdict; bump when a change would alter verdicts for the same input.
# /2: fusion with the routing signal and the mechanism (issue 17).
# /3: loss and RTT are the median across vantage points, baselines learn winsorised figures (issue 19).
# /4: an AS weighs its learned weight in the country roll-up, not this round's count of targets.
ALGORITHM_VERSION = "vantage-verdict/4"


@dataclass(frozen=True, slots=True)
class RoundOutput:
    round_number: int
    algorithm_version: str
    as_verdicts: tuple[AsVerdict, ...]
    country_verdicts: tuple[CountryVerdict, ...]
    events: tuple[Event, ...]  # every event opened, updated or closed in this round
    state: EngineState
    offline_probes: tuple[str, ...]
    suspect_probes: tuple[str, ...]
    # ASes whose state rows this round changed or deleted (state.rows(changed_asns))
    changed_asns: frozenset[int] = frozenset()


def _ewma(old: float | None, new: float | None, alpha: float) -> float | None:
    if new is None:
        return old
    return new if old is None else old + alpha * (new - old)


def evaluate_round(
    observations: Iterable[Observation] | RoundColumns,
    state: EngineState,
    *,
    round_number: int,
    round_start: datetime,
    round_length: timedelta,
    config: VerdictConfig | None = None,
    routing: Mapping[int, AsRouting] | None = None,
) -> RoundOutput:
    """One round. `observations` are tuples or, as the collector hands a round over, columns
    (round_columns.py; the same rows give the same output either way). `routing` is the routing
    signal per AS for this round (collector/bgp/model.py); an AS without an entry, or no mapping
    at all, has none: its mechanism comes from the probes."""
    config = config or VerdictConfig()
    # The round allocates millions of small acyclic objects; the cyclic collector would re-scan them
    # again and again (it doubles the run time of a whole-Internet round) and can find nothing to free.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _evaluate(observations, state, round_number, round_start, round_length, config, routing or {})
    finally:
        if gc_was_enabled:
            gc.enable()


def _evaluate(
    observations: Iterable[Observation] | RoundColumns,
    state: EngineState,
    round_number: int,
    round_start: datetime,
    round_length: timedelta,
    config: VerdictConfig,
    routing: Mapping[int, AsRouting],
) -> RoundOutput:
    columns: RoundColumns | None = None
    if isinstance(observations, RoundColumns):
        columns = observations
    else:
        listed = observations if isinstance(observations, list | tuple) else list(observations)
        if config.vectorized and listed:
            columns = RoundColumns.from_observations(listed)
    limits = Thresholds.of(config)
    plain: dict[int, Reachability] = {}
    plain_tallies: PlainTallies | None = None
    learned_of: dict[int, Learned] = {}
    if config.vectorized and columns is not None and len(columns):
        fast = evaluate_fast(columns, state.ases, state.targets, config, limits)
        grouped = group(fast.rest)
        offline = fast.offline
        plain, plain_tallies, learned_of = fast.plain, fast.plain_tallies, fast.learned
        country_of: dict[int, str] = {**fast.country_of, **grouped.target_country}
        basic_ok: set[str] = set(fast.basic_ok)
        measured_ids, measured_homes = fast.measured_ids, fast.measured_homes
    else:
        rows = columns.observations() if columns is not None else listed
        grouped = group(rows)
        offline = find_offline(grouped.probes, grouped.answered_by_asn, config)
        country_of = dict(grouped.target_country)
        basic_ok = set()
        measured = {o.target_id: o.target_asn for o in rows}
        measured_ids, measured_homes = list(measured), list(measured.values())

    views_by_asn: dict[int, list[VantageView]] = {}
    for asn, by_probe in grouped.reachability.items():
        usable = []
        for view in by_probe.values():
            if view.probe_id in offline:
                continue
            if view.answered:
                basic_ok.add(view.probe_id)
            # Outside-in means from outside: a probe's view of its own AS is no witness for the world.
            if view.probe_asn != asn:
                usable.append(view)
        if usable:
            views_by_asn[asn] = usable

    inside: list[Observation] = []
    for by_probe in grouped.interference.values():
        for view in by_probe.values():
            if view.probe_id in offline:
                continue
            inside.extend(view.unanswered)
            inside.extend(view.answered)
            country_of.setdefault(view.probe_asn, view.probe_country)
    interference = judge_all(inside, frozenset(basic_ok), config) if inside else {}

    model = availability_mod.AvailabilityModel(state.targets, config)
    new_ases = dict(state.ases)
    new_tracks = dict(state.tracks)
    up_tallies: list[Tally] = []
    silent_tallies: list[Tally] = []
    verdicts: list[AsVerdict] = []
    events: list[Event] = []
    suspects: set[str] = set()
    by_country: dict[str, list[AsSummary]] = {}

    # Scopes with a tracker (an open event or a streak): the only ASes that need the event machinery
    # when they are UP (most of the Internet, most of the time).
    tracked = {scope for scope, _ in state.tracks}
    up = Status.UP
    # A known AS whose routes are withdrawn but that no probe measured this round still gets a
    # verdict (UNKNOWN, bgp_withdrawal): it deserves attention, never a DOWN (mechanism.py).
    judged = views_by_asn.keys() | interference.keys() | plain.keys() | _withdrawn(routing, state.ases)
    for asn in sorted(judged):
        memory = state.ases.get(asn)
        views = views_by_asn.get(asn)
        r = plain.get(asn) or (judge(views, memory, model, config, limits) if views else None)
        i = interference.get(asn)
        country = country_of.get(asn) or (memory.country if memory else "")
        as_routing = routing.get(asn) if routing else None
        # This round's count, and the weight learned before it (this count when there is none).
        weight_now = (r.targets if r else 0) + (i.judgeable_targets if i else 0)
        learned = memory.weight if memory is not None and memory.weight > 0 else float(weight_now)
        if r is not None and r.status is up and i is None and as_routing is None and not r.suspects:
            verdict, new_memory, drop = _decide_up(
                asn,
                country,
                r,
                memory,
                round_number,
                round_start,
                config,
                learned,
                weight_now,
                learned_of.get(asn),
            )
        else:
            verdict, new_memory, drop = _decide(
                asn, country, r, i, memory, round_number, round_start, config, as_routing, learned, weight_now
            )
        verdicts.append(verdict)
        new_ases[asn] = new_memory
        if verdict.evidence.suspect_probes:
            suspects.update(verdict.evidence.suspect_probes)
        if r is not None:
            (up_tallies if r.status is up else silent_tallies).append(r.tallies)
        summary = AsSummary(
            asn,
            verdict.status,
            verdict.confidence,
            round(new_memory.weight),
            verdict.reachability_ratio,
            r is not None,
            verdict.mechanism,
            verdict.layer,
        )
        in_country = by_country.get(country)
        if in_country is None:
            by_country[country] = [summary]
        else:
            in_country.append(summary)
        scope = f"AS{asn}"
        if verdict.status is up and scope not in tracked:
            continue  # nothing to open, nothing open to update or close
        mark = RoundMark(
            verdict.status,
            verdict.confidence,
            drop,
            verdict.evidence.summary,
            reachability_known=r is not None and r.status is not Status.UNKNOWN,
            interference_known=i is not None and i.judgeable_targets > 0,
            mechanism=verdict.mechanism,
            layer=verdict.layer,
            mechanism_reason=verdict.evidence.mechanism_reason,
        )
        events.extend(
            _step_events(
                new_tracks, scope, asn, country, mark, round_number, round_start, round_length, config
            )
        )

    countries: list[CountryVerdict] = []
    new_countries = dict(state.countries)
    for country, summaries in sorted(by_country.items()):
        if not country:
            continue
        cv = roll_up(country, summaries, state.countries.get(country), round_start, config)
        countries.append(cv)
        new_countries[country] = CountryMemory(cv.status, cv.since)
        mark = RoundMark(
            cv.status,
            cv.confidence,
            cv.affected_share,
            cv.summary,
            mechanism=cv.mechanism,
            layer=cv.layer,
            mechanism_reason=cv.mechanism_reason,
        )
        events.extend(
            _step_events(
                new_tracks, country, 0, country, mark, round_number, round_start, round_length, config
            )
        )

    targets = availability_mod.learn(state.targets, up_tallies, silent_tallies, config)
    if plain_tallies is not None:
        availability_mod.learn_batch(
            targets,
            state.targets,
            plain_tallies.target_ids,
            plain_tallies.answers,
            plain_tallies.attempts,
            config,
            plain_tallies.memories,
        )
    home, last_of, every_target_measured = _where_and_when(
        state.target_home, state.target_last_round, measured_ids, measured_homes, round_number
    )
    changed = set(measured_homes)
    changed.update(v.asn for v in verdicts)
    changed.update(
        _forget(
            targets,
            home,
            last_of,
            new_ases,
            new_tracks,
            round_number,
            round_length,
            config,
            targets_fresh=every_target_measured,
        )
    )
    new_state = EngineState(
        targets=targets,
        ases=new_ases,
        countries=new_countries,
        tracks=new_tracks,
        last_round=round_number,
        target_home=home,
        target_last_round=last_of,
        paths=state.paths,  # collector/verdict/paths.py updates it from the round's traces
    )
    return RoundOutput(
        round_number=round_number,
        algorithm_version=ALGORITHM_VERSION,
        as_verdicts=tuple(verdicts),
        country_verdicts=tuple(countries),
        events=tuple(sorted(events, key=lambda e: (e.started_at, e.id))),
        state=new_state,
        offline_probes=tuple(sorted(offline)),
        suspect_probes=tuple(sorted(suspects - offline)),
        changed_asns=frozenset(changed),
    )


def _where_and_when(
    old_home: dict[str, int],
    old_last: dict[str, int],
    ids: list[str],
    homes: list[int],
    round_number: int,
) -> tuple[dict[str, int], dict[str, int], bool]:
    """The targets' homes and last rounds after this round (`ids` measured, distinct, in `homes`),
    and whether the round measured every target the state knew.

    The same dicts, in the same order, as copying the old ones and updating them with this round's
    targets. In a steady state the round measures the targets the state knows, in the order it
    learned them (the collector reads a round sorted by AS), each in the AS it was in: then the
    homes are a plain copy and the last rounds the old keys with this round's number. Comparing
    the lists costs a string comparison per target; updating costs two hash lookups per target
    (750,000 of them, all cache misses)."""
    if len(old_home) == len(ids) and list(old_home) == ids and list(old_home.values()) == homes:
        home = dict(old_home)
    else:
        home = dict(old_home)
        home.update(zip(ids, homes, strict=True))
    if len(old_last) == len(ids) and list(old_last) == ids:
        last_of = dict.fromkeys(old_last, round_number)
    else:
        last_of = dict(old_last)
        last_of.update(zip(ids, repeat(round_number)))
    # Every id is a key now, and the ids are distinct: no other key is left when the sizes agree.
    every_target_measured = len(last_of) == len(ids)
    return home, last_of, every_target_measured


def _withdrawn(routing: Mapping[int, AsRouting], known: Mapping[int, AsMemory]) -> set[int]:
    """The ASes the engine has measured before whose routes are withdrawn now."""
    if not routing:
        return set()
    return {asn for asn, r in routing.items() if r.state is RoutingState.WITHDRAWN and asn in known}


def _forget(
    targets: dict[str, TargetMemory],
    home: dict[str, int],
    last_of: dict[str, int],
    ases: dict[int, AsMemory],
    tracks: dict[tuple[str, EventKind], EventTrack],
    round_number: int,
    round_length: timedelta,
    config: VerdictConfig,
    *,
    targets_fresh: bool = False,
) -> set[int]:
    """Drop (in place) what was last measured before the horizon; the ASes whose rows changed.

    An AS's event trackers go with it, except one holding an open event: an event is closed by
    evidence, never by forgetting (it stays open, bounded by the number of events).
    `targets_fresh`: every target was measured this round, so none is stale (the horizon is at
    least one round back) and the scan over them is skipped."""
    horizon = round_number - math.ceil(config.forget_after_s / round_length.total_seconds())
    changed: set[int] = set()
    stale_targets = [] if targets_fresh else [tid for tid, last in last_of.items() if last < horizon]
    for tid in stale_targets:
        del last_of[tid]
        changed.add(home.pop(tid))
        targets.pop(tid, None)
    stale_ases = [asn for asn, memory in ases.items() if memory.last_round < horizon]
    for asn in stale_ases:
        del ases[asn]
        changed.add(asn)
    if stale_ases:
        gone = {f"AS{asn}" for asn in stale_ases}
        for key in [k for k, t in tracks.items() if k[0] in gone]:
            event = tracks[key].event
            if event is None or event.ended_at is not None:
                del tracks[key]
    return changed


def _step_events(
    tracks: dict[tuple[str, EventKind], EventTrack],
    scope: str,
    asn: int,
    country: str,
    mark: RoundMark,
    round_number: int,
    round_start: datetime,
    round_length: timedelta,
    config: VerdictConfig,
) -> list[Event]:
    out: list[Event] = []
    current = KIND_OF_STATUS.get(mark.status)
    for kind in EVENT_KINDS:
        key = (scope, kind)
        track = tracks.get(key)
        if track is None and kind is not current:
            continue
        new_track, event = step(
            track, kind, scope, asn, country, mark, round_number, round_start, round_length, config
        )
        if new_track is None:
            tracks.pop(key, None)
        else:
            tracks[key] = new_track
        if event is not None:
            out.append(event)
    return out


def _learn_baselines(
    base_ratio: float | None,
    base_loss: float | None,
    base_rtt: float | None,
    rounds: int,
    r: Reachability,
    config: VerdictConfig,
) -> tuple[float | None, float | None, float | None, int]:
    """The AS's baselines (reachability ratio, loss, RTT) after a round it was judged UP in: EWMAs,
    a plain mean while history is short."""
    alpha = max(config.baseline_alpha, 1.0 / (rounds + 1))
    # One probe's extreme figure must not drag a baseline: the round's loss and RTT are clamped
    # into a band around the baselines before the average (robust.py).
    loss = winsorised(
        r.loss_ratio, base_loss, factor=config.throttle_loss_factor, increase=config.throttle_loss_increase
    )
    rtt = winsorised(
        r.rtt_ms, base_rtt, factor=config.throttle_rtt_factor, increase=config.throttle_rtt_increase_ms
    )
    return (
        _ewma(base_ratio, r.ratio, alpha),
        _ewma(base_loss, loss, alpha),
        _ewma(base_rtt, rtt, alpha),
        rounds + 1,
    )


def _decide_up(
    asn: int,
    country: str,
    r: Reachability,
    memory: AsMemory | None,
    round_number: int,
    round_start: datetime,
    config: VerdictConfig,
    learned_weight: float,
    weight_now: int,
    learned: Learned | None = None,
) -> tuple[AsVerdict, AsMemory, float]:
    """`_decide` for the common case, element for element: reachability UP without suspects, no
    interference view, no routing signal (most of the Internet, most rounds). No branch of `_decide`
    that this case cannot take, and the objects built positionally. `learned`: what
    `_learn_baselines` gives for this round, computed for all plain ASes at once (fast.py)."""
    since = memory.since if memory is not None and memory.status is _UP else round_start
    if learned is not None:
        evidence_loss, evidence_rtt, base_ratio, base_loss, base_rtt, rounds = learned
    else:
        if memory is None:
            base_ratio = base_loss = base_rtt = None
            rounds = 0
        else:
            base_ratio, base_loss, base_rtt = (
                memory.baseline_ratio,
                finite_or_none(memory.baseline_loss_ratio),
                finite_or_none(memory.baseline_rtt_ms),
            )
            rounds = memory.baseline_rounds
        evidence_loss, evidence_rtt = base_loss, base_rtt
        base_ratio, base_loss, base_rtt, rounds = _learn_baselines(
            base_ratio, base_loss, base_rtt, rounds, r, config
        )
    ratio = r.answered / r.attempts if r.attempts else 0.0
    belief_logodds = r.belief_logodds
    weight = learned_weight + config.baseline_alpha * (weight_now - learned_weight)
    new_memory = AsMemory(
        country, _UP, since, belief_logodds, base_ratio, base_loss, base_rtt, rounds, round_number, weight
    )
    evidence = Evidence(
        r.vantage_points,
        r.vantage_asns,
        r.targets,
        r.protocols,
        r.failures,
        r.loss_ratio,
        evidence_loss,
        r.rtt_ms,
        evidence_rtt,
        (),
        (),
        _UP,
        _UNKNOWN,
        0,
        up_summary(asn, country, r),
    )
    verdict = AsVerdict(
        asn,
        country,
        _UP,
        round(r.confidence, 6),
        round(sigmoid(belief_logodds), 6),
        round(ratio, 6),
        since,
        evidence,
    )
    return verdict, new_memory, 0.0


def _decide(
    asn: int,
    country: str,
    r: Reachability | None,
    i: Interference | None,
    memory: AsMemory | None,
    round_number: int,
    round_start: datetime,
    config: VerdictConfig,
    routing: AsRouting | None,
    learned_weight: float,
    weight_now: int,
) -> tuple[AsVerdict, AsMemory, float]:
    """Combine both views, then the routing signal, into the AS's verdict, its memory for next
    round, and the relative drop. The AS's weight in the roll-up learns from UP rounds only, like
    the baselines: during a cut its inside probes' results do not arrive, and it weighs on."""
    reach_status = r.status if r else Status.UNKNOWN
    inside_status = i.status if i else Status.UNKNOWN
    status: Status
    if reach_status in (Status.DOWN, Status.DEGRADED):
        assert r is not None
        status, confidence = reach_status, r.confidence
    elif i is not None and inside_status is Status.FILTERED:
        status, confidence = Status.FILTERED, i.confidence
    elif reach_status is Status.UP:
        assert r is not None
        status, confidence = Status.UP, r.confidence
    else:
        status, confidence = Status.UNKNOWN, 0.0
    if routing is None and status is _UP:
        mechanism, layer, mechanism_reason = Mechanism.NONE, Layer.UNSPECIFIED, ""  # the common case
    else:
        status, confidence, mechanism, layer, mechanism_reason = fuse(
            asn, status, confidence, r, i, routing, config
        )

    base_ratio = memory.baseline_ratio if memory else None
    base_loss = finite_or_none(memory.baseline_loss_ratio) if memory else None
    base_rtt = finite_or_none(memory.baseline_rtt_ms) if memory else None
    if r is not None:
        ratio = r.ratio
    elif i is not None:
        ratio = 1.0 - i.filtered_share
    else:
        ratio = 0.0
    drop = 0.0
    if status in (Status.DOWN, Status.DEGRADED):
        drop = max(0.0, 1.0 - ratio / base_ratio) if base_ratio else 1.0 - ratio
        if r is not None and r.loss_ratio is not None and base_loss is not None:
            drop = max(drop, r.loss_ratio - base_loss)
    elif status is Status.FILTERED and i is not None:
        drop = i.filtered_share

    belief_logodds = r.belief_logodds if r else (memory.belief_logodds if memory else 0.0)
    rounds = memory.baseline_rounds if memory else 0
    weight = learned_weight
    if status is Status.UP and r is not None:
        base_ratio, base_loss, base_rtt, rounds = _learn_baselines(
            base_ratio, base_loss, base_rtt, rounds, r, config
        )
        weight += config.baseline_alpha * (weight_now - learned_weight)
    since = memory.since if memory is not None and memory.status is status else round_start
    new_memory = AsMemory(
        country, status, since, belief_logodds, base_ratio, base_loss, base_rtt, rounds, round_number, weight
    )

    evidence = Evidence(
        vantage_points=r.vantage_points if r else 0,
        vantage_asns=r.vantage_asns if r else (),
        targets=r.targets if r else 0,
        protocols=r.protocols if r else (),
        failures=r.failures if r else (),
        loss_ratio=r.loss_ratio if r else None,
        baseline_loss_ratio=memory.baseline_loss_ratio if memory else None,
        rtt_ms=r.rtt_ms if r else None,
        baseline_rtt_ms=memory.baseline_rtt_ms if memory else None,
        suspect_probes=tuple(sorted(set(r.suspects if r else ()) | set(i.suspects if i else ()))),
        filtered_targets=i.filtered_targets if i else (),
        reachability_status=reach_status,
        interference_status=inside_status,
        inside_vantage_points=i.inside_vantage_points if i else 0,
        summary=as_summary(
            asn,
            country,
            status,
            r,
            i,
            memory.baseline_loss_ratio if memory else None,
            memory.baseline_rtt_ms if memory else None,
        ),
        mechanism_reason=mechanism_reason,
        routing=routing,
    )
    verdict = AsVerdict(
        asn=asn,
        country=country,
        status=status,
        confidence=round(confidence, 6),
        belief=round(sigmoid(belief_logodds), 6),
        reachability_ratio=round(ratio, 6),
        since=since,
        evidence=evidence,
        mechanism=mechanism,
        layer=layer,
    )
    return verdict, new_memory, drop
