"""The vectorised fast path: a whole round in numpy columns, plain ASes judged without Python loops.

Theory of operation
-------------------
A whole-Internet round is millions of observations over tens of thousands of ASes, and almost
every AS is *plain*: every vantage point votes up, fewer targets failed from two vantage points
than partial reachability needs (2), no answer carried a failure string, loss and RTT are nowhere
near the throttling limits, and the belief is above 0.9. For a plain AS the full judgement
(reachability.judge) can only say UP, and every number it reports is a count, a sum, a mean or a median
over its observations — numpy computes those for all ASes at once (bincount over factorised keys).

The round comes as columns (round_columns.py: the collector builds them as it reads the round;
a list of observations is transposed once); vantage-point sanity (offline probes) and the per-AS
votes are computed vectorised; the plain ASes get their `Reachability` straight from the arrays;
the others — anything that could be DOWN, DEGRADED, UNKNOWN, have a dissenter or a failure mix
beyond timeouts — keep their observations and go through the reference path (grouping.py and
reachability.py), as do all inside-out observations. tests/collector/verdict/test_fast_path.py checks that
both paths give the same verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import is_not, itemgetter

import numpy as np

from vantage.collector.verdict.availability import AVAILABILITY_BUCKETS, Tally, llr_table, memory_columns
from vantage.collector.verdict.classify import ANSWER_TABLE
from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.model import (
    Observation,
    Protocol,
    ProtocolStat,
    Status,
    TaskKind,
)
from vantage.collector.verdict.reachability import (
    REASON_VOTES,
    Reachability,
    Thresholds,
    failure_count,
    protocol_stat,
)
from vantage.collector.verdict.round_columns import RoundColumns
from vantage.collector.verdict.state import AsMemory, TargetMemory

_PROTOCOLS = max(int(p) for p in Protocol) + 1
_REACH = int(TaskKind.REACHABILITY)
_INSIDE = int(TaskKind.INTERFERENCE)


@dataclass(slots=True)
class PlainTallies:
    """Answers and attempts per target of the plain ASes (all judged UP), for availability.learn_batch."""

    target_ids: list[str]
    answers: np.ndarray
    attempts: np.ndarray
    # What the state held for them before the round (availability.learn_batch's `memories`): read
    # once, for the log-likelihood ratios, not a second time for learning.
    memories: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


# A plain AS's baselines as its UP round leaves them, and the baselines its evidence reports:
# (evidence loss, evidence RTT, ratio, loss, RTT, rounds), as engine._learn_baselines gives them.
Learned = tuple[float | None, float | None, float | None, float | None, float | None, int]


@dataclass(slots=True)
class FastRound:
    offline: frozenset[str]
    basic_ok: frozenset[str]  # probes with an answered outside-in observation this round
    plain: dict[int, Reachability]  # AS -> judgement, for the plain ASes
    # AS -> what engine._decide_up learns from its round, for the plain ASes (plain_baselines)
    learned: dict[int, Learned]
    country_of: dict[int, str]
    rest: list[Observation]  # what the reference path must still see (other ASes, inside-out)
    plain_tallies: PlainTallies  # what the plain ASes' targets did, for learning
    # every target of the round (distinct, in order of first appearance) and its AS
    measured_ids: list[str]
    measured_homes: list[int]


def evaluate_fast(
    columns: RoundColumns,
    ases: Mapping[int, AsMemory],
    targets: Mapping[str, TargetMemory],
    config: VerdictConfig,
    limits: Thresholds,
) -> FastRound:
    probe_codes, probe_ids = columns.probe, columns.probe_ids
    probe_asn = columns.probe_asn
    target_codes, target_ids = columns.target, columns.target_ids
    target_asn = columns.target_asn
    kind = columns.kind
    answered = _answer_classes(columns.outcome, columns.failure, columns.failures)
    has_failure = np.array([bool(f) for f in columns.failures], dtype=bool)[columns.failure]
    protocol = columns.protocol
    rtt, loss = columns.rtt_ms, columns.loss_ratio

    valid = (answered >= 0) & ((kind == _REACH) | (kind == _INSIDE))
    offline = _offline(probe_codes, probe_ids, target_asn, probe_asn, kind, answered, valid, config)
    offline_mask = np.zeros(len(probe_ids), dtype=bool)
    if offline:
        offline_mask[[probe_ids.index(p) for p in offline]] = True
    online = valid & ~offline_mask[probe_codes]
    reach = online & (kind == _REACH)
    basic_ok = frozenset(probe_ids[i] for i in np.unique(probe_codes[reach & (answered == 1)]).tolist())
    witness = np.flatnonzero(reach & (probe_asn != target_asn))  # outside-in rows

    plain, plain_tallies, plain_asns, country_of, learned = _judge_plain(
        columns,
        witness,
        probe_codes,
        len(probe_ids),
        probe_asn,
        target_codes,
        target_ids,
        target_asn,
        answered,
        has_failure,
        protocol,
        rtt,
        loss,
        ases,
        targets,
        config,
        limits,
    )
    # The reference path sees every valid observation of the other ASes and every inside-out one
    # (offline probes' rows included: it excludes them itself, from the offline set given).
    rest_mask = valid & ~np.isin(target_asn, plain_asns)
    rest_mask |= valid & (kind == _INSIDE)
    rest = columns.observations(np.flatnonzero(rest_mask).tolist())
    home = np.zeros(len(target_ids), dtype=np.int64)
    home[target_codes] = target_asn
    return FastRound(
        offline, basic_ok, plain, learned, country_of, rest, plain_tallies, target_ids, home.tolist()
    )


_DIRECT_OUTCOMES = 64  # outcome values below this index the table directly


def _answer_classes(outcome: np.ndarray, failure: np.ndarray, failures: Sequence[str]) -> np.ndarray:
    """classify.ANSWER_TABLE per row: 1 answered, 0 unanswered, -1 proves nothing; one table
    lookup per (outcome, failure) pair of the round, then an array index per row."""
    if len(outcome) and int(outcome.min()) >= 0 and int(outcome.max()) < _DIRECT_OUTCOMES:
        outcomes, outcome_code = np.arange(int(outcome.max()) + 1), outcome
    else:  # values off the vocabulary: a table row per value seen
        outcomes, outcome_code = np.unique(outcome, return_inverse=True)
    table = np.array(
        [[ANSWER_TABLE.get((o, f), -1) for f in failures] for o in outcomes.tolist()], dtype=np.int64
    ).reshape(len(outcomes), len(failures))
    classes: np.ndarray = table[outcome_code, failure]
    return classes


def _offline(
    probe_codes: np.ndarray,
    probe_ids: list[str],
    target_asn: np.ndarray,
    probe_asn: np.ndarray,
    kind: np.ndarray,
    answered: np.ndarray,
    valid: np.ndarray,
    config: VerdictConfig,
) -> frozenset[str]:
    """vantage_points.find_offline, vectorised: the same rule on the same counts."""
    attempts = np.bincount(probe_codes[valid], minlength=len(probe_ids))
    answers = np.bincount(probe_codes[valid], weights=answered[valid], minlength=len(probe_ids))
    candidate = (attempts >= config.offline_min_attempts) & (
        answers <= config.offline_max_answered_ratio * attempts
    )
    if not candidate.any():
        return frozenset()
    outside = valid & (probe_asn != target_asn)
    asn_values, inverse = np.unique(target_asn[outside], return_inverse=True)
    by_asn = dict(
        zip(asn_values.tolist(), np.bincount(inverse, weights=answered[outside]).tolist(), strict=True)
    )
    rows = np.flatnonzero(valid & candidate[probe_codes])
    units: dict[int, dict[tuple[int, int], int]] = {}
    for code, k, asn, ok in zip(
        probe_codes[rows].tolist(),
        kind[rows].tolist(),
        target_asn[rows].tolist(),
        answered[rows].tolist(),
        strict=True,
    ):
        per_unit = units.setdefault(code, {})
        per_unit[(k, asn)] = per_unit.get((k, asn), 0) + ok
    offline = set()
    for code, per_unit in units.items():
        reached = sum(1 for (_, asn), own in per_unit.items() if by_asn.get(asn, 0.0) - own > 0)
        if reached >= 1 and 2 * reached >= len(per_unit):
            offline.add(probe_ids[code])
    return frozenset(offline)


_NO_TALLIES = PlainTallies([], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def _judge_plain(
    columns: RoundColumns,
    witness: np.ndarray,
    probe_codes: np.ndarray,
    n_probes: int,
    probe_asn: np.ndarray,
    target_codes: np.ndarray,
    target_ids: list[str],
    target_asn: np.ndarray,
    answered: np.ndarray,
    has_failure: np.ndarray,
    protocol: np.ndarray,
    rtt: np.ndarray,
    loss: np.ndarray,
    ases: Mapping[int, AsMemory],
    targets: Mapping[str, TargetMemory],
    config: VerdictConfig,
    limits: Thresholds,
) -> tuple[dict[int, Reachability], PlainTallies, np.ndarray, dict[int, str], dict[int, Learned]]:
    if not len(witness):
        return {}, _NO_TALLIES, np.zeros(0, dtype=np.int64), {}, {}
    w = witness
    as_values, as_code = np.unique(target_asn[w], return_inverse=True)
    n_as = len(as_values)
    pair_values, pair_first, pair_code = np.unique(
        as_code * n_probes + probe_codes[w], return_index=True, return_inverse=True
    )
    pair_as = pair_values // n_probes
    n_pairs = np.bincount(pair_as, minlength=n_as)

    # Availability per target (Trinocular's A(E)) as log-likelihood ratios, once per target.
    unique_targets, target_inverse = np.unique(target_codes[w], return_inverse=True)
    positive, negative, memories = _target_llrs(
        [target_ids[c] for c in unique_targets.tolist()], targets, config
    )
    ans = answered[w]
    is_ans = ans == 1
    llr = np.where(is_ans, positive[target_inverse], negative[target_inverse])
    pair_llr = np.bincount(pair_code, weights=llr, minlength=len(pair_values))

    prior = np.array([_prior(ases.get(a), limits) for a in as_values.tolist()], dtype=float)
    x = prior[pair_as] + pair_llr
    up = (x > limits.up) & (pair_llr > 0.0)
    down = (x < limits.down) & (pair_llr < 0.0)
    n_up = np.bincount(pair_as, weights=up, minlength=n_as)
    n_down = np.bincount(pair_as, weights=down, minlength=n_as)
    cap = limits.vantage_point_cap
    belief = prior + np.bincount(pair_as, weights=np.clip(pair_llr, -cap, cap), minlength=n_as)

    # Per target: answers, attempts, silences; the AS each target belongs to.
    target_as = np.zeros(len(unique_targets), dtype=np.int64)
    target_as[target_inverse] = as_code
    attempts_t = np.bincount(target_inverse, minlength=len(unique_targets))
    answers_t = np.bincount(target_inverse, weights=is_ans, minlength=len(unique_targets))
    silences_t = attempts_t - answers_t
    twice_silent = np.bincount(
        target_as, weights=silences_t >= config.min_down_vantage_points, minlength=n_as
    )
    failure_answers = np.bincount(as_code, weights=has_failure[w] & is_ans, minlength=n_as)

    # Per vantage point its mean, per AS the median of those (robust.py), and their mean for the
    # throttling pre-check (reachability._may_be_throttled).
    loss_by_pair = _mean_by(pair_code, loss[w], is_ans, len(pair_values))
    rtt_by_pair = _mean_by(pair_code, rtt[w], is_ans, len(pair_values))
    loss_median = _median_by(
        pair_as,
        loss_by_pair,
        n_as,
        factor=config.throttle_loss_factor,
        increase=config.throttle_loss_increase,
    )
    rtt_median = _median_by(
        pair_as,
        rtt_by_pair,
        n_as,
        factor=config.throttle_rtt_factor,
        increase=config.throttle_rtt_increase_ms,
    )
    every_pair = np.ones(len(pair_values), dtype=bool)
    loss_mean = _mean_by(pair_as, loss_by_pair, every_pair, n_as)
    rtt_mean = _mean_by(pair_as, rtt_by_pair, every_pair, n_as)
    as_memories = [ases.get(a) for a in as_values.tolist()]
    maybe_throttled = _maybe_throttled(as_memories, n_pairs, loss_mean, rtt_mean, config)

    plain_mask = (
        (n_down == 0)
        & (n_up >= 1)
        & (belief > limits.up)
        # fewer targets silent from two VPs than partial reachability needs: judge() would find UP too
        & (twice_silent < config.degraded_min_targets)
        & (failure_answers == 0)
        & ~maybe_throttled
    )
    plain_index = np.flatnonzero(plain_mask)
    if not len(plain_index):
        return {}, _NO_TALLIES, np.zeros(0, dtype=np.int64), {}, {}

    answered_as = np.bincount(as_code, weights=is_ans, minlength=n_as)
    attempts_as = np.bincount(as_code, minlength=n_as)
    measured_as = np.bincount(target_as, minlength=n_as)
    silent_as = np.bincount(target_as, weights=answers_t == 0, minlength=n_as)
    confidence = np.round(1.0 / (1.0 + np.exp(-belief)), 6)

    protocol_key = as_code * _PROTOCOLS + protocol[w]
    protocol_attempts = np.bincount(protocol_key, minlength=n_as * _PROTOCOLS).reshape(n_as, _PROTOCOLS)
    protocol_answers = np.bincount(protocol_key, weights=is_ans, minlength=n_as * _PROTOCOLS).reshape(
        n_as, _PROTOCOLS
    )
    protocols_of: dict[int, list[ProtocolStat]] = {}
    rows_p, cols_p = np.nonzero(protocol_attempts * plain_mask[:, None])
    for a, p, n_att, n_ans in zip(
        rows_p.tolist(),
        cols_p.tolist(),
        protocol_attempts[rows_p, cols_p].tolist(),
        protocol_answers[rows_p, cols_p].tolist(),
        strict=True,
    ):
        protocols_of.setdefault(a, []).append(protocol_stat(_PROTOCOL_MEMBERS[p], n_att, int(n_ans)))

    failures_of: dict[int, dict[tuple[str, Protocol], int]] = {}
    silent_rows = np.flatnonzero(~is_ans & plain_mask[as_code])
    failure_values = columns.failures
    silent_w = w[silent_rows]
    for a, f, p in zip(
        as_code[silent_rows].tolist(),
        columns.failure[silent_w].tolist(),
        protocol[silent_w].tolist(),
        strict=True,
    ):
        key = (failure_values[f], _PROTOCOL_MEMBERS[p])
        mix = failures_of.setdefault(a, {})
        mix[key] = mix.get(key, 0) + 1

    # Pairs are sorted by AS, so each AS's vantage points are one contiguous slice.
    pair_probe_asn = probe_asn[w][pair_first].tolist()
    pair_start = np.concatenate(([0], np.cumsum(n_pairs))).tolist()
    first_row = np.full(n_as, len(w), dtype=np.int64)
    np.minimum.at(first_row, as_code, np.arange(len(w)))

    plain: dict[int, Reachability] = {}
    country_of: dict[int, str] = {}
    countries, target_country = columns.countries, columns.target_country
    values = zip(
        plain_index.tolist(),
        as_values[plain_index].tolist(),
        belief[plain_index].tolist(),
        confidence[plain_index].tolist(),
        answered_as[plain_index].tolist(),
        attempts_as[plain_index].tolist(),
        n_pairs[plain_index].tolist(),
        n_up[plain_index].tolist(),
        measured_as[plain_index].tolist(),
        silent_as[plain_index].tolist(),
        loss_median[plain_index].tolist(),
        rtt_median[plain_index].tolist(),
        w[first_row[plain_index]].tolist(),
        strict=True,
    )
    up_status = Status.UP
    no_tally: Tally = ((), {}, {})
    for a, asn, b, conf, n_ans, n_att, vps, ups, measured, silent, lo, rt, row in values:
        mix = failures_of.get(a, {})
        plain[asn] = Reachability(
            up_status,
            REASON_VOTES,
            b,
            conf,
            int(n_ans),
            n_att,
            vps,
            tuple(sorted(set(pair_probe_asn[pair_start[a] : pair_start[a + 1]]))),
            int(ups),
            0,
            measured,
            measured - int(silent),
            0,
            tuple(protocols_of.get(a, ())),
            tuple(failure_count(f, p, c) for (f, p), c in sorted(mix.items()) if f) if mix else (),
            None if math.isnan(lo) else lo,
            None if math.isnan(rt) else rt,
            (),
            no_tally,
        )
        country_of[asn] = countries[target_country[row]]

    in_plain = plain_mask[target_as]
    tallies = PlainTallies(
        [target_ids[c] for c in unique_targets[in_plain].tolist()],
        answers_t[in_plain].astype(np.int64),
        attempts_t[in_plain].astype(np.int64),
        (memories[0][in_plain], memories[1][in_plain], memories[2][in_plain]),
    )
    learned = plain_baselines(
        as_values[plain_index].tolist(),
        [as_memories[a] for a in plain_index.tolist()],
        answered_as[plain_index],
        attempts_as[plain_index],
        loss_median[plain_index],
        rtt_median[plain_index],
        config,
    )
    return plain, tallies, as_values[plain_index], country_of, learned


def plain_baselines(
    asns: list[int],
    memories: list[AsMemory | None],
    answered: np.ndarray,
    attempts: np.ndarray,
    loss: np.ndarray,
    rtt: np.ndarray,
    config: VerdictConfig,
) -> dict[int, Learned]:
    """engine._learn_baselines for ASes judged UP, at once: the same operations in the same order
    on the same doubles (+, -, *, / and max/min, which numpy rounds as Python does, and which pick
    the same operand on ties), so the same bits. `loss` and `rtt` are the round's figures (NaN:
    none); None (no baseline) is a mask here, never a NaN, so a stored NaN ratio stays one."""
    n = len(asns)
    if not n:
        return {}
    no_memory = (None, None, None, 0)
    old_ratio, old_loss, old_rtt, old_rounds = zip(
        *[
            no_memory
            if m is None
            else (m.baseline_ratio, m.baseline_loss_ratio, m.baseline_rtt_ms, m.baseline_rounds)
            for m in memories
        ],
        strict=True,
    )
    rounds = np.array(old_rounds, dtype=np.int64)
    alpha = np.maximum(config.baseline_alpha, 1.0 / (rounds + 1))
    ratio = answered / attempts  # plain ASes have attempts
    has_ratio = np.array([x is not None for x in old_ratio], dtype=bool)
    base_ratio = np.array([0.0 if x is None else x for x in old_ratio], dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        new_ratio = np.where(has_ratio, base_ratio + alpha * (ratio - base_ratio), ratio)
        evidence_loss, new_loss = _learn_figure(
            old_loss, loss, alpha, factor=config.throttle_loss_factor, increase=config.throttle_loss_increase
        )
        evidence_rtt, new_rtt = _learn_figure(
            old_rtt, rtt, alpha, factor=config.throttle_rtt_factor, increase=config.throttle_rtt_increase_ms
        )
    return dict(
        zip(
            asns,
            zip(
                evidence_loss,
                evidence_rtt,
                new_ratio.tolist(),
                new_loss,
                new_rtt,
                (rounds + 1).tolist(),
                strict=True,
            ),
            strict=True,
        )
    )


def _learn_figure(
    stored: Sequence[float | None], value: np.ndarray, alpha: np.ndarray, *, factor: float, increase: float
) -> tuple[list[float | None], list[float | None]]:
    """One baseline (loss or RTT): the stored one as the engine uses it (robust.finite_or_none), and
    after the round (robust.winsorised, then engine._ewma), None where there is none."""
    base = np.array([math.nan if x is None else x for x in stored], dtype=float)
    has_base = np.isfinite(base)
    has_value = ~np.isnan(value)
    high = np.maximum(base * factor, base + increase)
    low = np.maximum(0.0, np.minimum(base / factor, base - increase))
    clamped = np.where(has_base, np.minimum(np.maximum(value, low), high), value)
    learned = np.where(has_base, base + alpha * (clamped - base), clamped)
    before: list[float | None] = np.where(has_base, base, math.nan).tolist()
    after: list[float | None] = np.where(has_value, learned, base).tolist()
    known_after = (has_base | has_value).tolist()
    return (
        [x if k else None for x, k in zip(before, has_base.tolist(), strict=True)],
        [x if k else None for x, k in zip(after, known_after, strict=True)],
    )


_PROTOCOL_MEMBERS = {int(p): p for p in Protocol}


def _prior(memory: AsMemory | None, limits: Thresholds) -> float:
    if memory is None:
        return 0.0
    return min(max(memory.belief_logodds, -limits.prior_cap), limits.prior_cap)


def _target_llrs(
    ids: list[str], targets: Mapping[str, TargetMemory], config: VerdictConfig
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """availability.AvailabilityModel.ensure, for a batch of targets, as arrays; and what the state
    held for them, as availability.learn_batch reads it (an unknown target: the default
    availability, no rounds, never answered)."""
    table = llr_table(config.answer_probability_when_down, config.max_availability)
    if not ids:
        return np.zeros(0), np.zeros(0), (np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))
    memories: Collection[tuple[float, int, bool | None]]
    if len(targets) == len(ids) and list(targets) == ids:
        # The state's targets in the round's order (a steady state, read sorted by AS): their
        # memories in order, without a hash lookup per target.
        memories = targets.values()
        known = np.ones(len(ids), dtype=bool)
    else:
        # An unknown target reads as the default availability, no rounds, and None for "ever
        # answered" (a stored memory holds a bool there), which tells it apart.
        memories = list(map(targets.get, ids, repeat((config.default_availability, 0, None))))
        known = np.fromiter(
            map(is_not, map(itemgetter(2), memories), repeat(None)), dtype=bool, count=len(ids)
        )
    # None (unseen) in "ever answered" reads False, as availability.learn_batch has it.
    availability, rounds, ever = memory_columns(memories)
    # For the weights an unknown target is one that has answered (so it has weight).
    silent = ~(ever | ~known) & (rounds >= config.never_answered_rounds)
    buckets = (availability * AVAILABILITY_BUCKETS + 0.5).astype(np.int64)
    buckets[silent] = -1  # never answered: no weight
    table_array = np.array([*table, (0.0, 0.0)], dtype=float)  # index -1: no weight
    return table_array[buckets, 0], table_array[buckets, 1], (availability, rounds, ever)


def _mean_by(group: np.ndarray, values: np.ndarray, rows: np.ndarray, groups: int) -> np.ndarray:
    """Mean of the finite, non-negative values of the selected rows per group (nan where there are
    none): robust.vantage_point_mean per group."""
    with np.errstate(invalid="ignore"):
        take = rows & np.isfinite(values) & (values >= 0.0)
    count = np.bincount(group, weights=take, minlength=groups)
    # Each value divided before the sum (robust.py): a sum of values near the float maximum overflows.
    share = np.where(take, values, 0.0) / np.maximum(count, 1)[group]
    total = np.bincount(group, weights=share, minlength=groups)
    return np.where(count > 0, total, np.nan)


def _median_by(
    group: np.ndarray, values: np.ndarray, groups: int, *, factor: float, increase: float
) -> np.ndarray:
    """robust.figure per group over the non-nan values (nan where there are none, or two that
    disagree beyond the band)."""
    keep = ~np.isnan(values)
    g, v = group[keep], values[keep]
    order = np.lexsort((v, g))
    g, v = g[order], v[order]
    counts = np.bincount(g, minlength=groups)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    low = v[starts[has] + (counts[has] - 1) // 2]
    high = v[starts[has] + counts[has] // 2]
    middle = low + (high - low) / 2.0
    disagree = (counts[has] == 2) & (high > np.maximum(low * factor, low + increase))
    out = np.full(groups, np.nan)
    out[has] = np.where(disagree, np.nan, middle)
    return out


def _maybe_throttled(
    memories: list[AsMemory | None],
    n_pairs: np.ndarray,
    loss_mean: np.ndarray,
    rtt_mean: np.ndarray,
    config: VerdictConfig,
) -> np.ndarray:
    """reachability._may_be_throttled for every AS at once (nan compares false)."""
    rounds = np.array([m.baseline_rounds if m else 0 for m in memories], dtype=np.int64)
    base_loss = np.array([m.baseline_loss_ratio if m else None for m in memories], dtype=float)
    base_rtt = np.array([m.baseline_rtt_ms if m else None for m in memories], dtype=float)
    loss_limit = np.maximum(
        base_loss + config.throttle_loss_increase, base_loss * config.throttle_loss_factor
    )
    rtt_limit = np.maximum(base_rtt * config.throttle_rtt_factor, base_rtt + config.throttle_rtt_increase_ms)
    share = config.min_down_vantage_points / np.maximum(n_pairs, 1)
    with np.errstate(invalid="ignore"):
        over = (loss_mean >= share * loss_limit) | (rtt_mean >= share * rtt_limit)
    throttled: np.ndarray = (
        (rounds >= config.baseline_min_rounds) & (n_pairs >= config.min_down_vantage_points) & over
    )
    return throttled
