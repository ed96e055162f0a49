"""A pure, seeded simulator of measurement rounds with ground truth, to score the verdict engine.

The world: target ASes in a few countries, each with targets of known availability (most always
answer, some answer now and then, some never); outside probes in their own ASes; a few probes
inside target ASes that run the inside-out test list, with control probes elsewhere; random loss;
probe churn (probes absent for a round); probes that go offline (everything they measure times
out); lying probes (they invert what they report for the ASes they lie about). On top, staged
events with their true start and end rounds: outages (every outside-in measurement of the AS times
out, and its inside probes cannot upload), throttling (heavy ICMP loss and 4x RTT) and filtering
(inside probes see resets and forged DNS answers for part of the test list; the control does not).

With `routing` on, the world also has a routing signal (collector/bgp/model.py's `AsRouting` per AS
per round, as the route feed would give it): each AS announces `baseline_prefixes` prefixes seen by
`full_feed_peers` peers. A staged outage is then either a route withdrawal (`withdrawal_share` of
them: no prefix visible) or a data-plane drop (routes intact); the probes see the same silence
either way, so only the routes tell them apart. `feed_outages` stage windows in which the feed is
down (every AS's routing is UNKNOWN); `hijacks` stage windows in which another AS announces more
specifics of an AS's space, so that the owner's own routes look partly gone (PARTIAL) while its
hosts still answer: no event, and the AS must stay UP. Each true event carries the mechanism a
correct engine names (scoring.py scores it).

Everything random comes from the `random.Random` passed in: the same seed, the same rounds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from vantage import failures
from vantage.collector.bgp.model import AsRouting, RoutingState
from vantage.collector.verdict.model import EventKind, Mechanism, Observation, Outcome, Protocol, TaskKind
from vantage.collector.verdict.silence import DEFAULT_MIN_SILENT_PROBES

if TYPE_CHECKING:  # the generator is passed in (seeded by the caller); this module draws no randomness
    import random

POISON_HIDE = "hide"  # huge RTT and loss while the AS is normal, a clean figure while it is throttled
POISON_FAKE = "fake"  # near-zero RTT and no loss while the AS is normal: honest VPs then look slow
# Extreme but finite: ingest rejects non-finite numbers, not large ones (collector/wire/validation.py).
POISON_HIGH_RTT_MS = 1e308
POISON_LOW_RTT_MS = 0.001
TARGET_COUNTRIES = ("KZ", "BY", "IR", "MM", "ET", "CU")
PROBE_COUNTRIES = ("DE", "NL", "US", "JP", "BR", "ZA", "SG", "FR")
# AS numbers from the private-use range (RFC 6996), so simulated output never names a real network.
FIRST_TARGET_ASN = 4_200_000_000
FIRST_PROBE_ASN = 4_200_100_000
FIRST_CONTENT_ASN = 4_200_200_000
SINKHOLE_ASN = 4_200_299_999
DEFAULT_START = datetime(2022, 1, 5, 0, 0, tzinfo=UTC)
# Positional construction of the most common observation (hundreds of thousands per run).
_ICMP, _REACH, _OK, _FAIL = Protocol.ICMP, TaskKind.REACHABILITY, Outcome.OK, Outcome.FAILURE
_TIMEOUT = failures.GENERIC_TIMEOUT


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    ases: int = 30
    targets_per_as: int = 10
    outside_probes: int = 24
    vantage_points: int = 3  # reachability vantage points per target AS per round
    rounds: int = 288
    round_minutes: float = 5.0
    loss: float = 0.05  # chance that any one measurement times out for no reason
    churn: float = 0.05  # chance that a probe is absent in a round
    offline_probes: int = 2  # probes that go offline for a while (everything they measure fails)
    liars: int = 0  # probes that invert what they report for the ASes they lie about
    outages: int = 6
    throttles: int = 3
    filterings: int = 3
    min_event_rounds: int = 1
    max_event_rounds: int = 12
    inside_share: float = 0.3  # share of target ASes with probes inside (for interference)
    test_list_targets: int = 8
    never_answering_share: float = 0.1
    flaky_share: float = 0.2  # targets that answer only 50-90 % of the time
    warmup_rounds: int = 6
    start: datetime = DEFAULT_START
    # The routing signal (off: the engine hears only its probes, as before issue 17).
    routing: bool = False
    withdrawal_share: float = 0.5  # staged outages that are route withdrawals (the rest: data plane)
    feed_outages: int = 0  # windows in which the route feed is down (routing UNKNOWN everywhere)
    hijacks: int = 0  # windows in which an AS's routes look partly gone while its hosts answer
    baseline_prefixes: int = 8
    full_feed_peers: int = 18
    # The inside view (issues 19 and 21). Poisoners report truthful reachability but extreme RTTs
    # and losses, to hide or fake throttling; late-upload cuts are outages of ASes with inside
    # probes that measure throughout and upload when the cut ends; disconnections silence every
    # inside probe of an AS (no outage: the outside still reaches it).
    poisoners: int = 0
    min_inside_probes: int = 1
    max_inside_probes: int = 3
    late_uploads: int = 0
    disconnections: int = 0


@dataclass(frozen=True, slots=True)
class TruthEvent:
    kind: EventKind
    asn: int
    country: str
    start_round: int
    end_round: int  # exclusive
    mechanism: Mechanism = Mechanism.NONE
    late_upload: bool = False  # its inside probes measure throughout and upload after it

    @property
    def rounds(self) -> int:
        return self.end_round - self.start_round


@dataclass(frozen=True, slots=True)
class SimRound:
    number: int
    start: datetime
    observations: tuple[Observation, ...]
    routing: Mapping[int, AsRouting] | None = None  # None: no routing signal in this world
    # scope ("AS<n>" or a country) -> its probes connected this round (every scope with probes)
    connected: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # results of earlier rounds uploaded in this one: (round, its late observations)
    late: tuple[tuple[int, tuple[Observation, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class Probe:
    probe_id: str
    asn: int
    country: str
    inside: bool


@dataclass(slots=True)
class World:
    config: SimulationConfig
    as_country: dict[int, str]
    availability: dict[str, float]  # target id -> chance it answers
    targets_of: dict[int, list[str]]
    outside: list[Probe]
    inside_of: dict[int, list[Probe]]
    preference: dict[int, list[Probe]]  # target AS -> outside probes in a stable order (rendezvous-like)
    base_rtt_ms: dict[int, float]
    offline_windows: dict[str, tuple[int, int]]
    lies_about: dict[str, frozenset[int]]
    truth: tuple[TruthEvent, ...]
    blocked: dict[int, frozenset[int]] = field(default_factory=dict)  # AS -> test-list indexes blocked
    feed_down: frozenset[int] = frozenset()  # rounds in which the route feed is down
    hijacks: tuple[tuple[int, int, int], ...] = ()  # (AS, start round, end round exclusive)
    # poisoner -> AS -> POISON_HIDE or POISON_FAKE
    poisons: dict[str, dict[int, str]] = field(default_factory=dict)
    disconnections: tuple[tuple[int, int, int], ...] = ()  # (AS, start round, end round exclusive)

    def disconnected(self, asn: int, n: int) -> bool:
        return any(a == asn and s <= n < e for a, s, e in self.disconnections)

    def hijacked(self, asn: int, n: int) -> bool:
        return any(a == asn and s <= n < e for a, s, e in self.hijacks)

    def expected_mechanism(self, event: TruthEvent) -> Mechanism:
        """What a correct engine names for the event in its last round: without a routing signal
        then, a withdrawal cannot be told from a data-plane drop."""
        if event.kind is EventKind.OUTAGE and (
            not self.config.routing or event.end_round - 1 in self.feed_down
        ):
            return Mechanism.UNKNOWN
        return event.mechanism


def build_world(config: SimulationConfig, rng: random.Random) -> World:
    asns = [FIRST_TARGET_ASN + i for i in range(config.ases)]
    as_country = {asn: TARGET_COUNTRIES[i % len(TARGET_COUNTRIES)] for i, asn in enumerate(asns)}
    availability: dict[str, float] = {}
    targets_of: dict[int, list[str]] = {}
    for asn in asns:
        ids = [f"as{asn}-t{j}" for j in range(config.targets_per_as)]
        targets_of[asn] = ids
        for target_id in ids:
            x = rng.random()
            if x < config.never_answering_share:
                availability[target_id] = 0.0
            elif x < config.never_answering_share + config.flaky_share:
                availability[target_id] = rng.uniform(0.5, 0.9)
            else:
                availability[target_id] = 1.0
    outside = [
        Probe(f"out{k}", FIRST_PROBE_ASN + k, PROBE_COUNTRIES[k % len(PROBE_COUNTRIES)], False)
        for k in range(config.outside_probes)
    ]
    inside_of: dict[int, list[Probe]] = {}
    for asn in asns:
        if rng.random() < config.inside_share:
            count = rng.randint(config.min_inside_probes, config.max_inside_probes)
            inside_of[asn] = [Probe(f"in{asn}-{k}", asn, as_country[asn], True) for k in range(count)]
    preference = {asn: rng.sample(outside, len(outside)) for asn in asns}
    base_rtt = {asn: rng.uniform(20.0, 200.0) for asn in asns}

    horizon = config.rounds
    offline_windows: dict[str, tuple[int, int]] = {}
    for probe in rng.sample(outside, min(config.offline_probes, len(outside))):
        length = rng.randint(2, 24)
        start = rng.randrange(0, max(1, horizon - length))
        offline_windows[probe.probe_id] = (start, start + length)
    liars = rng.sample([p for p in outside if p.probe_id not in offline_windows], config.liars)
    lies_about = {p.probe_id: frozenset(a for a in asns if rng.random() < 0.5) for p in liars}

    truth: list[TruthEvent] = []
    busy: dict[int, list[tuple[int, int]]] = {}
    staged = [(EventKind.OUTAGE, config.outages), (EventKind.DEGRADATION, config.throttles)]
    staged.append((EventKind.FILTERING, config.filterings))
    blocked: dict[int, frozenset[int]] = {}
    for kind, count in staged:
        candidates = sorted(inside_of) if kind is EventKind.FILTERING else asns
        for _ in range(count):
            if not candidates:
                break
            least = config.min_event_rounds if kind is EventKind.OUTAGE else max(2, config.min_event_rounds)
            length = rng.randint(least, max(least, config.max_event_rounds))
            for _attempt in range(50):
                asn = rng.choice(candidates)
                start = rng.randrange(
                    config.warmup_rounds, max(config.warmup_rounds + 1, horizon - length - 2)
                )
                # Events on one AS keep 3 rounds apart, so each can close before the next begins.
                if all(start >= e + 3 or start + length + 3 <= s for s, e in busy.get(asn, [])):
                    busy.setdefault(asn, []).append((start, start + length))
                    truth.append(TruthEvent(kind, asn, as_country[asn], start, start + length))
                    if kind is EventKind.FILTERING:
                        k = max(2, config.test_list_targets // 2)
                        blocked[asn] = frozenset(rng.sample(range(config.test_list_targets), k))
                    break
    truth.sort(key=lambda e: (e.start_round, e.asn, e.kind))
    # Drawn after everything else, so that a world without routing is the world it always was.
    feed_down: set[int] = set()
    hijacks: list[tuple[int, int, int]] = []
    if config.routing:
        truth = [_with_mechanism(e, rng.random() < config.withdrawal_share) for e in truth]
        for _ in range(config.feed_outages):
            length = rng.randint(2, max(2, config.max_event_rounds))
            start = rng.randrange(config.warmup_rounds, max(config.warmup_rounds + 1, horizon - length))
            feed_down.update(range(start, start + length))
        for _ in range(config.hijacks):
            length = rng.randint(2, max(2, config.max_event_rounds))
            for _attempt in range(50):
                asn = rng.choice(asns)
                start = rng.randrange(config.warmup_rounds, max(config.warmup_rounds + 1, horizon - length))
                if all(start >= e or start + length <= s for s, e in busy.get(asn, [])):
                    busy.setdefault(asn, []).append((start, start + length))
                    hijacks.append((asn, start, start + length))
                    break
    else:
        truth = [_with_mechanism(e, False) for e in truth]
    # The inside view, drawn last for the same reason.
    late_cuts = _stage(config, rng, sorted(inside_of), config.late_uploads, busy)
    truth.extend(
        _with_mechanism(TruthEvent(EventKind.OUTAGE, a, as_country[a], s, e, late_upload=True), False)
        for a, s, e in late_cuts
    )
    truth.sort(key=lambda e: (e.start_round, e.asn, e.kind))
    crowded = sorted(a for a, probes in inside_of.items() if len(probes) >= DEFAULT_MIN_SILENT_PROBES)
    disconnections = _stage(config, rng, crowded, config.disconnections, busy)
    poisons: dict[str, dict[int, str]] = {}
    honest = [p for p in outside if p.probe_id not in offline_windows and p.probe_id not in lies_about]
    for poisoner in rng.sample(honest, min(config.poisoners, len(honest))):
        poisons[poisoner.probe_id] = {a: rng.choice((POISON_HIDE, POISON_FAKE)) for a in asns}
        for asn in asns:  # a vantage point of every AS: the poisoner's best position
            preference[asn] = [poisoner, *(p for p in preference[asn] if p is not poisoner)]
    return World(
        config,
        as_country,
        availability,
        targets_of,
        outside,
        inside_of,
        preference,
        base_rtt,
        offline_windows,
        lies_about,
        tuple(truth),
        blocked,
        frozenset(feed_down),
        tuple(hijacks),
        poisons,
        tuple(sorted(disconnections, key=lambda d: (d[1], d[0]))),
    )


def _stage(
    config: SimulationConfig,
    rng: random.Random,
    candidates: list[int],
    count: int,
    busy: dict[int, list[tuple[int, int]]],
) -> list[tuple[int, int, int]]:
    """`count` windows (AS, start, end exclusive) on `candidates`, 3 rounds clear of the AS's
    other staged events, ending at least 2 rounds before the horizon (late uploads land)."""
    staged: list[tuple[int, int, int]] = []
    for _ in range(count if candidates else 0):
        least = max(2, config.min_event_rounds)
        length = rng.randint(least, max(least, config.max_event_rounds))
        for _attempt in range(50):
            asn = rng.choice(candidates)
            start = rng.randrange(
                config.warmup_rounds, max(config.warmup_rounds + 1, config.rounds - length - 2)
            )
            if all(start >= e + 3 or start + length + 3 <= s for s, e in busy.get(asn, [])):
                busy.setdefault(asn, []).append((start, start + length))
                staged.append((asn, start, start + length))
                break
    return staged


_MECHANISM_OF_KIND = {
    EventKind.DEGRADATION: Mechanism.THROTTLING,
    EventKind.FILTERING: Mechanism.SERVICE_BLOCKING,
}


def _with_mechanism(event: TruthEvent, withdrawal: bool) -> TruthEvent:
    if event.kind is EventKind.OUTAGE:
        mechanism = Mechanism.BGP_WITHDRAWAL if withdrawal else Mechanism.DATA_PLANE
    else:
        mechanism = _MECHANISM_OF_KIND[event.kind]
    return dataclasses.replace(event, mechanism=mechanism)


def _routing(world: World, n: int) -> dict[int, AsRouting]:
    """The routing signal of round n, as the route feed would give it (no randomness)."""
    config = world.config
    base, peers = config.baseline_prefixes, config.full_feed_peers
    out: dict[int, AsRouting] = {}
    for asn in world.targets_of:
        if n in world.feed_down:
            out[asn] = AsRouting(asn, RoutingState.UNKNOWN, 0, base, 0, base * 256, 0, "route feed down")
            continue
        withdrawn = any(
            e.asn == asn and e.mechanism is Mechanism.BGP_WITHDRAWAL and e.start_round <= n < e.end_round
            for e in world.truth
        )
        if withdrawn:
            visible, state = 0, RoutingState.WITHDRAWN
        elif world.hijacked(asn, n):
            visible, state = base // 2, RoutingState.PARTIAL  # more specifics announced by another AS
        else:
            visible, state = base, RoutingState.VISIBLE
        reason = f"{visible}/{base} prefixes visible"
        out[asn] = AsRouting(asn, state, visible, base, visible * 256, base * 256, peers, reason)
    return out


def simulate(config: SimulationConfig, rng: random.Random) -> tuple[World, Iterator[SimRound]]:
    """The world (with its ground truth) and a generator of its rounds."""
    world = build_world(config, rng)
    return world, _rounds(world, rng)


def _active(world: World, kind: EventKind, asn: int, n: int) -> bool:
    return any(e.kind is kind and e.asn == asn and e.start_round <= n < e.end_round for e in world.truth)


def _rounds(world: World, rng: random.Random) -> Iterator[SimRound]:
    config = world.config
    length = timedelta(minutes=config.round_minutes)
    backlog: dict[int, list[Observation]] = {}  # round -> results measured during a cut, not yet uploaded
    for n in range(config.rounds):
        present = {p.probe_id for p in world.outside if rng.random() >= config.churn}
        offline = {pid for pid, (s, e) in world.offline_windows.items() if s <= n < e}
        observations: list[Observation] = []
        for asn, targets in world.targets_of.items():
            down = _active(world, EventKind.OUTAGE, asn, n)
            throttled = _active(world, EventKind.DEGRADATION, asn, n)
            vps = [p for p in world.preference[asn] if p.probe_id in present][: config.vantage_points]
            for probe in vps:
                lying = asn in world.lies_about.get(probe.probe_id, frozenset())
                for target_id in targets:
                    answered = (
                        not down
                        and probe.probe_id not in offline
                        and rng.random() < world.availability[target_id]
                        and rng.random() >= config.loss
                    )
                    # Three echoes per measurement; a few go missing on any path, half when throttled.
                    lost_pings = (
                        sum(rng.random() < (0.5 if throttled else 0.02) for _ in range(3)) if answered else 3
                    )
                    answered = lost_pings < 3
                    if lying:
                        # The opposite of the truth: answers while the AS is down, silence while it is up.
                        answered = down
                    rtt = world.base_rtt_ms[asn] * (4.0 if throttled else 1.0) * rng.uniform(0.9, 1.2)
                    loss = lost_pings / 3.0
                    poison = world.poisons.get(probe.probe_id, {}).get(asn)
                    if poison is not None and answered:
                        rtt, loss = _poisoned(poison, throttled, world.base_rtt_ms[asn], rtt, loss)
                    observations.append(
                        _icmp(probe, asn, world.as_country[asn], target_id, answered, rtt, loss)
                    )
        inside_present: set[str] = set()
        late_now: list[Observation] = []
        observations.extend(_interference_round(world, rng, n, present, offline, inside_present, late_now))
        if late_now:
            backlog.setdefault(n, []).extend(late_now)
        rng.shuffle(observations)  # arrival order carries no meaning
        routing = _routing(world, n) if config.routing else None
        late = tuple((r, tuple(backlog.pop(r))) for r in sorted(backlog) if _uploads_at(world, r) == n)
        yield SimRound(
            n,
            config.start + n * length,
            tuple(observations),
            routing,
            _connected(world, present, inside_present),
            late,
        )


def _poisoned(mode: str, throttled: bool, base_rtt_ms: float, rtt: float, loss: float) -> tuple[float, float]:
    """What a poisoner reports instead of (rtt, loss)."""
    if mode == POISON_HIDE:
        return (base_rtt_ms, 0.0) if throttled else (POISON_HIGH_RTT_MS, 0.99)
    return (rtt, loss) if throttled else (POISON_LOW_RTT_MS, 0.0)


def _uploads_at(world: World, n: int) -> int:
    """The round in which the results of round n of a late-upload cut arrive: the cut's end."""
    return next((e.end_round for e in world.truth if e.late_upload and e.start_round <= n < e.end_round), n)


def _connected(world: World, present: set[str], inside_present: set[str]) -> dict[str, frozenset[str]]:
    """scope -> connected probes: outside probes not churned, inside probes that uploaded."""
    connected: dict[str, set[str]] = {}
    inside = (p for probes in world.inside_of.values() for p in probes)
    for probe in (*world.outside, *inside):
        alive = probe.probe_id in (inside_present if probe.inside else present)
        for scope in (f"AS{probe.asn}", probe.country):
            members = connected.setdefault(scope, set())
            if alive:
                members.add(probe.probe_id)
    return {scope: frozenset(members) for scope, members in connected.items()}


def _icmp(
    probe: Probe, asn: int, country: str, target_id: str, answered: bool, rtt: float, loss: float
) -> Observation:
    if answered:
        return Observation(
            probe.probe_id,
            probe.asn,
            probe.country,
            target_id,
            asn,
            country,
            _ICMP,
            _REACH,
            _OK,
            "",
            rtt,
            loss,
        )
    return Observation(
        probe.probe_id,
        probe.asn,
        probe.country,
        target_id,
        asn,
        country,
        _ICMP,
        _REACH,
        _FAIL,
        _TIMEOUT,
        None,
        1.0,
    )


def _interference_round(
    world: World,
    rng: random.Random,
    n: int,
    present: set[str],
    offline: set[str],
    uploaded: set[str],
    late: list[Observation],
) -> Iterator[Observation]:
    """The inside-out observations uploaded this round; `uploaded` gets the inside probes that
    uploaded, `late` what inside probes of a late-upload cut measured (uploaded after the cut)."""
    config = world.config
    controls = [p for p in world.outside if p.probe_id in present and p.probe_id not in offline][:5]
    for asn, probes in world.inside_of.items():
        late_cut = any(
            e.late_upload and e.asn == asn and e.start_round <= n < e.end_round for e in world.truth
        )
        if (not late_cut and _active(world, EventKind.OUTAGE, asn, n)) or world.disconnected(asn, n):
            continue  # cut off or disconnected: its inside probes cannot upload this round
        filtering = _active(world, EventKind.FILTERING, asn, n)
        for probe in probes:
            if rng.random() < config.churn:
                continue
            if late_cut:  # measuring a world it cannot reach; stored, uploaded after the cut
                late.extend(_test_list(world, rng, probe, frozenset(), cut=True))
                continue
            uploaded.add(probe.probe_id)
            yield from _test_list(
                world, rng, probe, world.blocked.get(asn, frozenset()) if filtering else frozenset()
            )
    for probe in controls:
        yield from _test_list(world, rng, probe, frozenset())


def _test_list(
    world: World, rng: random.Random, probe: Probe, blocked: frozenset[int], *, cut: bool = False
) -> Iterator[Observation]:
    for j in range(world.config.test_list_targets):
        lost = rng.random() < world.config.loss
        if cut:
            yield _inside(probe, j, Protocol.HTTP, Outcome.FAILURE, failure=failures.GENERIC_TIMEOUT)
            yield _inside(probe, j, Protocol.DNS, Outcome.FAILURE, failure=failures.GENERIC_TIMEOUT)
        elif j in blocked:  # a reset for HTTP, a forged answer for DNS
            yield _inside(probe, j, Protocol.HTTP, Outcome.FAILURE, failure=failures.CONNECTION_RESET)
            yield _inside(probe, j, Protocol.DNS, Outcome.OK, answer_asns=frozenset({SINKHOLE_ASN}))
        elif lost:
            yield _inside(probe, j, Protocol.HTTP, Outcome.FAILURE, failure=failures.GENERIC_TIMEOUT)
            yield _inside(probe, j, Protocol.DNS, Outcome.FAILURE, failure=failures.GENERIC_TIMEOUT)
        else:
            yield _inside(
                probe,
                j,
                Protocol.HTTP,
                Outcome.OK,
                status_code=200,
                body_sha256=f"{j:064x}",
                body_length=10_000 + 1000 * j,
            )
            yield _inside(probe, j, Protocol.DNS, Outcome.OK, answer_asns=frozenset({FIRST_CONTENT_ASN + j}))
    # Basic reachability from inside: an echo to a well-connected host answers (not through a cut).
    yield _inside(
        probe, -1, Protocol.ICMP, Outcome.FAILURE if cut else Outcome.OK, failure=_TIMEOUT if cut else ""
    )


def _inside(
    probe: Probe,
    j: int,
    protocol: Protocol,
    outcome: Outcome,
    *,
    failure: str = "",
    answer_asns: frozenset[int] = frozenset(),
    status_code: int = 0,
    body_sha256: str = "",
    body_length: int = 0,
) -> Observation:
    return Observation(
        probe_id=probe.probe_id,
        probe_asn=probe.asn,
        probe_country=probe.country,
        target_id=f"test{j}" if j >= 0 else "anchor",
        target_asn=FIRST_CONTENT_ASN + max(j, 0),
        target_country="US",
        protocol=protocol,
        kind=TaskKind.INTERFERENCE,
        outcome=outcome,
        failure=failure,
        rtt_ms=30.0 if outcome is Outcome.OK else None,
        answer_asns=answer_asns,
        status_code=status_code,
        body_sha256=body_sha256,
        body_length=body_length,
    )
