"""Can the world reach AS X? Outside-in belief, votes and corroboration for one AS.

Theory of operation
-------------------
Each vantage point (VP) that measured the AS this round gets its own Trinocular-style belief: the
AS's belief from the last round (clipped, so one round can override it) plus the log-likelihood
ratio of each of its observations, weighted by the target's availability (availability.py). A VP
whose belief is above 0.9 votes *up*, below 0.1 votes *down*, else abstains.

* DOWN needs down votes from >= 2 VPs in >= 2 distinct ASes (configurable) and at most one up vote:
  that single up voter is the dissenter, and it is listed as suspect.
* Corroborated down votes with >= 2 up votes: the AS is reachable from some networks and not from
  others — DEGRADED (partial reachability, Thunderping's "hosed").
* Otherwise up votes make it UP (down voters, not corroborated, are the suspects) if the belief
  holds above 0.9; without votes or without enough belief the AS is UNKNOWN.
* An UP AS is DEGRADED when several usually-answering targets fail from >= 2 VPs in >= 2 ASes while
  others answer (partial), or when loss/RTT from >= 2 VPs in >= 2 ASes is far above the AS's own
  baseline (throttling, the step that preceded Kazakhstan's cut).

The reported belief adds every VP's log-likelihood ratio capped at +-6.9 (0.999): more answers can
only raise it, and no single VP can move it further than that. The confidence leaves out the
dissenters the corroboration rule identified.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from operator import attrgetter

from vantage.collector.verdict.availability import AvailabilityModel
from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.model import FailureCount, Observation, ProtocolStat, Status
from vantage.collector.verdict.state import AsMemory
from vantage.kinds import Protocol

_target_id = attrgetter("target_id")
_protocol = attrgetter("protocol")
_rtt = attrgetter("rtt_ms")

# Reason codes for the summary sentence.
REASON_VOTES = "votes"
REASON_PATHS = "paths"
REASON_TARGETS = "targets"
REASON_THROTTLED = "throttled"
REASON_SPARSE = "sparse"


@dataclass(slots=True)
class VantageView:
    """One vantage point's observations of one AS this round, split by what they proved."""

    probe_id: str
    probe_asn: int
    unanswered: list[Observation]
    answered: list[Observation]


@dataclass(frozen=True, slots=True)
class Reachability:
    status: Status
    reason: str
    belief_logodds: float
    confidence: float
    answered: int
    attempts: int
    vantage_points: int
    vantage_asns: tuple[int, ...]
    up_votes: int
    down_votes: int
    targets: int
    failing_targets: int
    protocols: tuple[ProtocolStat, ...]
    failures: tuple[FailureCount, ...]
    loss_ratio: float | None
    rtt_ms: float | None
    suspects: tuple[str, ...]
    # per target (answered, attempts) this round, from the VPs that were not suspect
    tallies: dict[str, tuple[int, int]]

    @property
    def ratio(self) -> float:
        return self.answered / self.attempts if self.attempts else 0.0


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def judge(
    views: list[VantageView],
    memory: AsMemory | None,
    availability: AvailabilityModel,
    config: VerdictConfig,
) -> Reachability:
    prior_cap = logit(config.prior_cap)
    prior = 0.0 if memory is None else min(max(memory.belief_logodds, -prior_cap), prior_cap)
    up_logit, down_logit, vp_cap = (
        logit(config.belief_up),
        logit(config.belief_down),
        logit(config.vantage_point_cap),
    )
    llr_of = availability.llr

    llrs: list[float] = []
    for view in views:
        total = 0.0
        for o in view.answered:
            total += llr_of(o.target_id)[0]
        for o in view.unanswered:
            total += llr_of(o.target_id)[1]
        llrs.append(total)

    up = [v for v, llr in zip(views, llrs, strict=True) if prior + llr > up_logit]
    down = [v for v, llr in zip(views, llrs, strict=True) if prior + llr < down_logit]
    down_asns = {v.probe_asn for v in down}
    down_corroborated = (
        len(down) >= config.min_down_vantage_points and len(down_asns) >= config.min_down_vantage_asns
    )
    belief = prior + sum(min(max(llr, -vp_cap), vp_cap) for llr in llrs)

    dissenters: list[VantageView]
    if down_corroborated and len(up) <= 1:
        status, reason, dissenters = Status.DOWN, REASON_VOTES, up
    elif down_corroborated:
        status, reason, dissenters = Status.DEGRADED, REASON_PATHS, []
    elif up and belief > up_logit:
        status, reason, dissenters = Status.UP, REASON_VOTES, down
    else:
        status, reason, dissenters = Status.UNKNOWN, REASON_SPARSE, []
    dissenting = {v.probe_id for v in dissenters}
    trusted = [v for v in views if v.probe_id not in dissenting]
    trusted_belief = prior + sum(
        min(max(llr, -vp_cap), vp_cap)
        for v, llr in zip(views, llrs, strict=True)
        if v.probe_id not in dissenting
    )

    answered_by_target: Counter[str] = Counter()
    attempts_by_target: Counter[str] = Counter()
    answered_by_protocol: Counter[int] = Counter()
    attempts_by_protocol: Counter[int] = Counter()
    failure_mix: Counter[tuple[str, int]] = Counter()
    for v in trusted:
        answered_by_target.update(map(_target_id, v.answered))
        attempts_by_target.update(map(_target_id, v.answered))
        answered_by_protocol.update(map(_protocol, v.answered))
        attempts_by_protocol.update(map(_protocol, v.answered))
        if v.unanswered:
            attempts_by_target.update(map(_target_id, v.unanswered))
            attempts_by_protocol.update(map(_protocol, v.unanswered))
            failure_mix.update((o.failure, o.protocol) for o in v.unanswered)
    for v in trusted:  # answered failures (refused, DNS errors, ...) belong in the failure mix too
        failure_mix.update((o.failure, o.protocol) for o in v.answered if o.failure)

    vp_loss, vp_rtt = _path_quality(trusted)
    loss = _mean([sample[0] for sample in vp_loss])
    rtt = _mean([sample[0] for sample in vp_rtt])

    failing_targets = 0
    if status is Status.UP:
        failing_targets = _corroborated_failing_targets(trusted, availability, config)
        eligible = sum(
            1
            for t in attempts_by_target
            if (a := availability.availability(t)) is not None and a >= config.degraded_min_availability
        )
        if (
            failing_targets >= config.degraded_min_targets
            and failing_targets >= config.degraded_min_target_share * max(eligible, 1)
        ):
            status, reason = Status.DEGRADED, REASON_TARGETS
        elif memory is not None and _throttled(vp_loss, vp_rtt, memory, config):
            status, reason = Status.DEGRADED, REASON_THROTTLED

    if status is Status.DOWN:
        confidence = 1.0 - sigmoid(trusted_belief)
    elif status is Status.UP:
        confidence = sigmoid(trusted_belief)
    elif status is Status.DEGRADED:
        # Partial reachability is itself established by corroboration; how sure we are that the AS is
        # reachable at all bounds how sure we are that it is merely degraded.
        confidence = (
            max(sigmoid(trusted_belief), 1.0 - sigmoid(trusted_belief))
            if reason == REASON_PATHS
            else (sigmoid(trusted_belief))
        )
    else:
        confidence = 0.0

    answered = sum(answered_by_target.values())
    attempts = sum(attempts_by_target.values())
    return Reachability(
        status=status,
        reason=reason,
        belief_logodds=belief,
        confidence=round(confidence, 6),
        answered=answered,
        attempts=attempts,
        vantage_points=len(trusted),
        vantage_asns=tuple(sorted({v.probe_asn for v in trusted})),
        up_votes=len(up),
        down_votes=len(down),
        targets=len(attempts_by_target),
        failing_targets=failing_targets,
        protocols=tuple(
            ProtocolStat(Protocol(p), n, answered_by_protocol[p])
            for p, n in sorted(attempts_by_protocol.items())
        ),
        failures=tuple(
            FailureCount(failure, Protocol(p), n)
            for (failure, p), n in sorted(failure_mix.items())
            if failure
        ),
        loss_ratio=loss,
        rtt_ms=rtt,
        suspects=tuple(sorted(dissenting)),
        tallies={t: (answered_by_target[t], n) for t, n in attempts_by_target.items()},
    )


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


_PathSample = tuple[float, str, int]  # (value, probe id, probe AS)


def _path_quality(views: list[VantageView]) -> tuple[list[_PathSample], list[_PathSample]]:
    """Per VP: mean loss ratio and mean RTT in ms, where measured."""
    losses: list[_PathSample] = []
    rtts: list[_PathSample] = []
    for v in views:
        loss = [o.loss_ratio for o in v.answered if o.loss_ratio is not None]
        loss.extend(o.loss_ratio for o in v.unanswered if o.loss_ratio is not None)
        if loss:
            losses.append((sum(loss) / len(loss), v.probe_id, v.probe_asn))
        rtt = [r for r in map(_rtt, v.answered) if r is not None]
        if rtt:
            rtts.append((sum(rtt) / len(rtt), v.probe_id, v.probe_asn))
    return losses, rtts


def _throttled(
    vp_loss: list[_PathSample], vp_rtt: list[_PathSample], memory: AsMemory, config: VerdictConfig
) -> bool:
    """Loss or RTT far above the AS's own baseline, seen from >= 2 VPs in >= 2 ASes."""
    if memory.baseline_rounds < config.baseline_min_rounds:
        return False
    bad: set[tuple[str, int]] = set()
    if memory.baseline_loss_ratio is not None:
        base = memory.baseline_loss_ratio
        for loss, probe_id, asn in vp_loss:
            if loss >= base + config.throttle_loss_increase and loss >= base * config.throttle_loss_factor:
                bad.add((probe_id, asn))
    if memory.baseline_rtt_ms is not None:
        base = memory.baseline_rtt_ms
        for rtt, probe_id, asn in vp_rtt:
            if rtt >= base * config.throttle_rtt_factor and rtt >= base + config.throttle_rtt_increase_ms:
                bad.add((probe_id, asn))
    return (
        len(bad) >= config.min_down_vantage_points
        and len({asn for _, asn in bad}) >= config.min_down_vantage_asns
    )


def _corroborated_failing_targets(
    views: list[VantageView], availability: AvailabilityModel, config: VerdictConfig
) -> int:
    """Usually-answering targets that failed from >= 2 VPs in >= 2 ASes and answered at most one."""
    failing: dict[str, set[tuple[str, int]]] = {}
    for v in views:
        for o in v.unanswered:
            failing.setdefault(o.target_id, set()).add((v.probe_id, v.probe_asn))
    candidates = {
        t
        for t, vps in failing.items()
        if len(vps) >= config.min_down_vantage_points
        and len({asn for _, asn in vps}) >= config.min_down_vantage_asns
    }
    if len(candidates) < config.degraded_min_targets:
        return 0
    answering: Counter[str] = Counter()
    for v in views:
        answering.update({o.target_id for o in v.answered if o.target_id in candidates})
    count = 0
    for t in candidates:
        a = availability.availability(t)
        if a is not None and a >= config.degraded_min_availability and answering[t] <= 1:
            count += 1
    return count
