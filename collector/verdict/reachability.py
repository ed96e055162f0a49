"""Can the world reach AS X? Outside-in belief, votes and corroboration for one AS.

Theory of operation
-------------------
Each vantage point (VP) that measured the AS this round gets its own Trinocular-style belief: the
AS's belief from the last round (clipped, so one round can override it) plus the log-likelihood
ratio of each of its observations, weighted by the target's availability (availability.py). A VP
whose belief is above 0.9 votes *up*, below 0.1 votes *down*, else abstains (a vote also needs the
VP's own evidence to point that way: targets that carry no weight elect no one).

* DOWN needs down votes from >= 2 VPs in >= 2 distinct ASes (configurable) and at most one up vote:
  that single up voter is the dissenter, and it is listed as suspect.
* Corroborated down votes with >= 2 up votes: the AS is reachable from some networks and not from
  others — DEGRADED (partial reachability, Thunderping's "hosed").
* Otherwise up votes make it UP (down voters, not corroborated, are the suspects) if the belief
  holds above 0.9; without votes or without enough belief the AS is UNKNOWN.
* An UP AS is DEGRADED when several reliable targets (availability >= 0.9) fail from >= 2 VPs in
  >= 2 ASes while others answer, and that many is unlikely by chance given the targets' learned
  availabilities (partial reachability), or when loss/RTT from >= 2 VPs in >= 2 ASes is far above the AS's own
  baseline (throttling, the step that preceded Kazakhstan's cut). The AS's loss and RTT are the
  median across VPs of each VP's mean, so that one VP can never hide or fake throttling (robust.py).

The reported belief adds every VP's log-likelihood ratio capped at +-6.9 (0.999): more answers can
only raise it, and no single VP can move it further than that. The confidence leaves out the
dissenters the corroboration rule identified.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from itertools import chain
from typing import NamedTuple

from vantage.collector.verdict import grouping
from vantage.collector.verdict.availability import AvailabilityModel, Tally
from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.grouping import VantageView
from vantage.collector.verdict.model import FailureCount, ProtocolStat, Status
from vantage.collector.verdict.robust import figure, finite_or_none, mean, vantage_point_mean
from vantage.collector.verdict.state import AsMemory
from vantage.kinds import Protocol

# Column indexes of transposed observations (grouping.VantageView).
TID, PROTOCOL, FAILURE = grouping.COLUMN_TARGET_ID, grouping.COLUMN_PROTOCOL, grouping.COLUMN_FAILURE
RTT, LOSS = grouping.COLUMN_RTT_MS, grouping.COLUMN_LOSS_RATIO

# Enum member access goes through a descriptor; the hot path reads module constants instead.
_UP, _DOWN, _DEGRADED, _UNKNOWN = Status.UP, Status.DOWN, Status.DEGRADED, Status.UNKNOWN

# The same few (protocol, attempts, successes) and (failure, protocol, count) values recur across
# tens of thousands of ASes a round; the objects are immutable, so they are shared.
protocol_stat = functools.lru_cache(maxsize=65536)(ProtocolStat)
failure_count = functools.lru_cache(maxsize=65536)(FailureCount)

# Reason codes for the summary sentence.
REASON_VOTES = "votes"
REASON_PATHS = "paths"
REASON_TARGETS = "targets"
REASON_THROTTLED = "throttled"
REASON_SPARSE = "sparse"


class Reachability(NamedTuple):
    """The outside-in judgement of one AS (a NamedTuple: built 75,000 times a round)."""

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
    answered_targets: int
    failing_targets: int
    protocols: tuple[ProtocolStat, ...]
    failures: tuple[FailureCount, ...]
    loss_ratio: float | None
    rtt_ms: float | None
    suspects: tuple[str, ...]
    # (attempts, unanswered) per target this round, from the VPs that were not suspect
    tallies: Tally

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


class Thresholds(NamedTuple):
    """The config's probabilities as log-odds, computed once per round."""

    prior_cap: float
    up: float
    down: float
    vantage_point_cap: float

    @classmethod
    def of(cls, config: VerdictConfig) -> Thresholds:
        return cls(
            logit(config.prior_cap),
            logit(config.belief_up),
            logit(config.belief_down),
            logit(config.vantage_point_cap),
        )


def judge(
    views: list[VantageView],
    memory: AsMemory | None,
    availability: AvailabilityModel,
    config: VerdictConfig,
    limits: Thresholds,
) -> Reachability:
    """Judge one AS from its vantage points' views (hot path: runs once per AS per round)."""
    prior = 0.0 if memory is None else min(max(memory.belief_logodds, -limits.prior_cap), limits.prior_cap)
    vp_cap = limits.vantage_point_cap

    # Per-VP log-likelihood sums run as C-level map/sum over the per-target ratios, on the views'
    # target-id columns.
    answered_ids = [v.answered_columns[TID] for v in views]
    unanswered_ids = [v.unanswered_columns[TID] for v in views if v.unanswered]
    measured = set(chain(*answered_ids, *unanswered_ids))
    availability.ensure(measured)
    positive, negative = availability.positive.__getitem__, availability.negative.__getitem__
    llrs = [
        sum(map(positive, v.answered_columns[TID]))
        + (sum(map(negative, v.unanswered_columns[TID])) if v.unanswered else 0.0)
        for v in views
    ]

    up: list[VantageView] = []
    down: list[VantageView] = []
    belief = prior
    for v, llr in zip(views, llrs, strict=True):
        x = prior + llr
        # A vote needs the VP's own evidence to point the same way: the prior alone elects no one.
        if x > limits.up and llr > 0.0:
            up.append(v)
        elif x < limits.down and llr < 0.0:
            down.append(v)
        belief += vp_cap if llr > vp_cap else (-vp_cap if llr < -vp_cap else llr)
    down_corroborated = (
        len(down) >= config.min_down_vantage_points
        and len({v.probe_asn for v in down}) >= config.min_down_vantage_asns
    )

    dissenters: list[VantageView]
    if down_corroborated and len(up) <= 1:
        status, reason, dissenters = _DOWN, REASON_VOTES, up
    elif down_corroborated:
        status, reason, dissenters = _DEGRADED, REASON_PATHS, []
    elif up and belief > limits.up:
        status, reason, dissenters = _UP, REASON_VOTES, down
    else:
        status, reason, dissenters = _UNKNOWN, REASON_SPARSE, []
    trusted_belief = belief
    trusted = views
    if dissenters:
        # The dissenters' own rounds are left out of everything that follows: they are suspect.
        dissenting = {v.probe_id for v in dissenters}
        trusted = [v for v in views if v.probe_id not in dissenting]
        trusted_belief = prior + sum(
            min(max(llr, -vp_cap), vp_cap)
            for v, llr in zip(views, llrs, strict=True)
            if v.probe_id not in dissenting
        )
        answered_ids = [v.answered_columns[TID] for v in trusted]
        unanswered_ids = [v.unanswered_columns[TID] for v in trusted if v.unanswered]
        measured = set(chain(*answered_ids, *unanswered_ids))

    answered = sum(map(len, answered_ids))
    unanswered = sum(map(len, unanswered_ids))
    unanswered_by_target: dict[str, int] = {}
    attempts_by_target: dict[str, int] = {}
    silent_targets = 0
    if unanswered:
        for t in chain(*unanswered_ids):
            unanswered_by_target[t] = unanswered_by_target.get(t, 0) + 1
        attempts_by_target = dict(unanswered_by_target)
        for t in chain(*answered_ids):
            if t in attempts_by_target:
                attempts_by_target[t] += 1
        silent_targets = sum(1 for t, n in unanswered_by_target.items() if n == attempts_by_target[t])

    protocols = list(chain(*(v.answered_columns[PROTOCOL] for v in trusted)))
    answered_by_protocol = {p: protocols.count(p) for p in set(protocols)}
    attempts_by_protocol = dict(answered_by_protocol)
    failure_mix: dict[tuple[str, Protocol], int] = {}
    if unanswered:
        for v in trusted:
            if v.unanswered:
                columns = v.unanswered_columns
                for key in zip(columns[FAILURE], columns[PROTOCOL], strict=True):
                    attempts_by_protocol[key[1]] = attempts_by_protocol.get(key[1], 0) + 1
                    failure_mix[key] = failure_mix.get(key, 0) + 1
    for v in trusted:  # refused, DNS errors, resets: answered, but failures all the same
        columns = v.answered_columns
        if any(columns[FAILURE]):
            for key in zip(columns[FAILURE], columns[PROTOCOL], strict=True):
                if key[0]:
                    failure_mix[key] = failure_mix.get(key, 0) + 1

    # Loss among the echoes that came back at all: silence is the reachability signal, not throttling.
    # One figure per vantage point, the median across them (robust.py: one VP cannot move it).
    loss_by_vp = [vantage_point_mean(v.answered_columns[LOSS]) for v in trusted]
    rtt_by_vp = [vantage_point_mean(v.answered_columns[RTT]) for v in trusted]
    loss = figure(loss_by_vp, factor=config.throttle_loss_factor, increase=config.throttle_loss_increase)
    rtt = figure(rtt_by_vp, factor=config.throttle_rtt_factor, increase=config.throttle_rtt_increase_ms)

    failing_targets = 0
    if status is _UP:
        if any(n >= config.min_down_vantage_points for n in unanswered_by_target.values()):
            failing_targets = _corroborated_failing_targets(trusted, availability, config)
        if failing_targets >= config.degraded_min_targets:
            reliable = [
                a
                for t in measured
                if (a := availability.availability(t)) is not None and a >= config.degraded_min_availability
            ]
            if failing_targets >= config.degraded_min_target_share * max(len(reliable), 1) and (
                _chance_of_at_least(failing_targets, reliable, len(trusted), config.min_down_vantage_points)
                <= config.degraded_max_chance
            ):
                status, reason = _DEGRADED, REASON_TARGETS
        if (
            status is _UP
            and memory is not None
            and memory.baseline_rounds >= config.baseline_min_rounds
            and _may_be_throttled(mean(loss_by_vp), mean(rtt_by_vp), len(trusted), memory, config)
            and _throttled(trusted, memory, config)
        ):
            status, reason = _DEGRADED, REASON_THROTTLED

    if status is _DOWN:
        confidence = 1.0 - sigmoid(trusted_belief)
    elif status is _UP or (status is _DEGRADED and reason != REASON_PATHS):
        confidence = sigmoid(trusted_belief)
    elif status is _DEGRADED:
        # Partial reachability is itself established by corroboration: the surer either way, the surer.
        confidence = max(sigmoid(trusted_belief), 1.0 - sigmoid(trusted_belief))
    else:
        confidence = 0.0

    return Reachability(
        status,
        reason,
        belief,
        round(confidence, 6),
        answered,
        answered + unanswered,
        len(trusted),
        tuple(sorted({v.probe_asn for v in trusted})),
        len(up),
        len(down),
        len(measured),
        len(measured) - silent_targets,
        failing_targets,
        tuple(
            ProtocolStat(Protocol(p), n, answered_by_protocol.get(p, 0))
            for p, n in sorted(attempts_by_protocol.items())
        ),
        tuple(failure_count(f, p, n) for (f, p), n in sorted(failure_mix.items()) if f)
        if failure_mix
        else (),
        loss,
        rtt,
        tuple(sorted(v.probe_id for v in dissenters)),
        (measured, unanswered_by_target, attempts_by_target),
    )


def _loss_limit(memory: AsMemory, config: VerdictConfig) -> float | None:
    base = finite_or_none(memory.baseline_loss_ratio)
    return (
        None
        if base is None
        else max(base + config.throttle_loss_increase, base * config.throttle_loss_factor)
    )


def _rtt_limit(memory: AsMemory, config: VerdictConfig) -> float | None:
    base = finite_or_none(memory.baseline_rtt_ms)
    return (
        None
        if base is None
        else max(base * config.throttle_rtt_factor, base + config.throttle_rtt_increase_ms)
    )


def _may_be_throttled(
    loss: float | None, rtt: float | None, vantage_points: int, memory: AsMemory, config: VerdictConfig
) -> bool:
    """Cheap pre-check on the mean of the per-VP figures: if even that is low, no 2 VPs can be
    above the limits (the figures are non-negative)."""
    if vantage_points < config.min_down_vantage_points:
        return False
    share = config.min_down_vantage_points / vantage_points
    loss_limit, rtt_limit = _loss_limit(memory, config), _rtt_limit(memory, config)
    return (loss is not None and loss_limit is not None and loss >= share * loss_limit) or (
        rtt is not None and rtt_limit is not None and rtt >= share * rtt_limit
    )


def _throttled(views: list[VantageView], memory: AsMemory, config: VerdictConfig) -> bool:
    """Loss or RTT far above the AS's own baseline, seen from >= 2 VPs in >= 2 ASes."""
    loss_limit, rtt_limit = _loss_limit(memory, config), _rtt_limit(memory, config)
    bad_asns: list[int] = []
    for v in views:
        vp_loss = vantage_point_mean(v.answered_columns[LOSS])
        vp_rtt = vantage_point_mean(v.answered_columns[RTT])
        lossy = loss_limit is not None and vp_loss is not None and vp_loss >= loss_limit
        slow = rtt_limit is not None and vp_rtt is not None and vp_rtt >= rtt_limit
        if lossy or slow:
            bad_asns.append(v.probe_asn)
    return (
        len(bad_asns) >= config.min_down_vantage_points and len(set(bad_asns)) >= config.min_down_vantage_asns
    )


def _chance_of_at_least(count: int, availabilities: list[float], vantage_points: int, failing: int) -> float:
    """P(at least `count` targets fail from >= `failing` of the VPs by chance), Poisson-approximated.

    Each target fails from one VP with probability 1 - A (its learned availability, which already
    includes the usual loss), independently across VPs.
    """
    expected = 0.0
    for a in availabilities:
        q = 1.0 - a
        at_most = sum(
            math.comb(vantage_points, k) * q**k * (1.0 - q) ** (vantage_points - k) for k in range(failing)
        )
        expected += max(0.0, 1.0 - at_most)
    below = sum(math.exp(-expected) * expected**k / math.factorial(k) for k in range(count))
    return max(0.0, 1.0 - below)


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
