"""Per-target availability learned from history: Trinocular's A(E).

A target that rarely answers is weak evidence: its silence says little, and Bayes' rule weighs it
accordingly. For one observation of a target with availability A:

    answered:    log-likelihood ratio ln(A / e)              (e = P(answer | AS down), tiny)
    unanswered:  log-likelihood ratio ln((1 - A) / (1 - e))

A target that never answered after a few rounds carries no weight at all (Trinocular ignores
never-active addresses). A is the plain average while history is short, then an EWMA, and it is
only learned in rounds where the AS was judged UP, so an outage does not teach the engine that the
AS's targets are unreliable.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Iterable, Mapping
from itertools import repeat
from operator import itemgetter

import numpy as np

from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.state import TargetMemory

# Availability is quantised to 1/1000 so the log-likelihood ratios come from a table.
AVAILABILITY_BUCKETS = 1000
NO_WEIGHT: tuple[float, float] = (0.0, 0.0)


@functools.lru_cache(maxsize=8)
def llr_table(e: float, max_availability: float) -> tuple[tuple[float, float], ...]:
    """(answered, unanswered) log-likelihood ratios per availability bucket."""
    table = []
    for bucket in range(AVAILABILITY_BUCKETS + 1):
        a = min(max(bucket / AVAILABILITY_BUCKETS, e), max_availability)
        table.append((math.log(a / e), math.log((1.0 - a) / (1.0 - e))))
    return tuple(table)


# A round's evidence about one AS's targets: (targets measured, unanswered count per target, attempts
# per target for the targets with unanswered observations). Targets without unanswered observations
# answered every time: their attempts do not matter.
Tally = tuple[Iterable[str], Mapping[str, int], Mapping[str, int]]


class AvailabilityModel:
    """Round-local view of target availabilities with cached log-likelihood ratios.

    `positive[t]` / `negative[t]` are the log-likelihood ratios of an answered / unanswered
    observation of target t, filled by `ensure` for a batch of targets so that the per-observation
    sums can run as C-level map/sum over these dicts.
    """

    __slots__ = ("_config", "_table", "_targets", "negative", "positive")

    def __init__(self, targets: Mapping[str, TargetMemory], config: VerdictConfig) -> None:
        self._targets = targets
        self._config = config
        self._table = llr_table(config.answer_probability_when_down, config.max_availability)
        self.positive: dict[str, float] = {}
        self.negative: dict[str, float] = {}

    def availability(self, target_id: str) -> float | None:
        """A(E), or None when the target carries no weight (never answered)."""
        memory = self._targets.get(target_id)
        if memory is None:
            return self._config.default_availability
        a, rounds, ever = memory
        if not ever and rounds >= self._config.never_answered_rounds:
            return None
        return a

    def ensure(self, target_ids: Iterable[str]) -> None:
        """Fill `positive` and `negative` for these targets."""
        positive, negative, targets, table = self.positive, self.negative, self._targets, self._table
        default = self._config.default_availability
        never_rounds = self._config.never_answered_rounds
        for t in target_ids:
            if t in positive:
                continue
            memory = targets.get(t)
            if memory is None:
                a: float | None = default
            else:
                a, rounds, ever = memory
                if not ever and rounds >= never_rounds:
                    a = None
            if a is None:
                positive[t], negative[t] = NO_WEIGHT
            else:
                positive[t], negative[t] = table[int(a * AVAILABILITY_BUCKETS + 0.5)]


def learn(
    targets: Mapping[str, TargetMemory],
    tallies: Iterable[Tally],
    silent_tallies: Iterable[Tally],
    config: VerdictConfig,
) -> dict[str, TargetMemory]:
    """A new target table with this round's evidence folded in.

    `tallies` come from ASes judged UP and teach availability; `silent_tallies` come from the other
    ASes and only count rounds for targets that never answered, so that an AS dark since monitoring
    began ends UNKNOWN (not analysable, as in Trinocular) instead of DOWN forever.
    """
    updated = dict(targets)
    default = config.default_availability
    for measured, _, _ in silent_tallies:
        for target_id in measured:
            memory = targets.get(target_id)
            if memory is None:
                updated[target_id] = (default, 1, False)
            elif not memory[2]:
                updated[target_id] = (memory[0], memory[1] + 1, False)
    min_alpha = config.availability_min_alpha
    # Past this many rounds the EWMA weight is the floor and the round count no longer matters.
    settled = int(1.0 / min_alpha)
    for measured, unanswered_by_target, attempts_by_target in tallies:
        for target_id in measured:
            unanswered = unanswered_by_target.get(target_id) if unanswered_by_target else None
            x = 1.0 - unanswered / attempts_by_target[target_id] if unanswered else 1.0
            memory = targets.get(target_id)
            if memory is None:
                a, rounds, ever = default, 0, False
            else:
                a, rounds, ever = memory
            # The default counts as one pseudo-round, so the first real round moves A halfway.
            alpha = min_alpha if rounds >= settled else max(1.0 / (rounds + 2), min_alpha)
            updated[target_id] = (
                a + alpha * (x - a),
                rounds + 1 if rounds < settled else rounds,
                ever or x > 0,
            )
    return updated


def memory_columns(
    memories: Collection[tuple[float, int, bool | None]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets' memories as three arrays (availability, rounds seen, ever answered; None reads as
    False): one pass per field, which costs a sixth of transposing them with zip(*memories)."""
    n = len(memories)
    return (
        np.fromiter(map(itemgetter(0), memories), dtype=float, count=n),
        np.fromiter(map(itemgetter(1), memories), dtype=np.int64, count=n),
        np.fromiter(map(itemgetter(2), memories), dtype=bool, count=n),
    )


def learn_batch(
    updated: dict[str, TargetMemory],
    targets: Mapping[str, TargetMemory],
    target_ids: list[str],
    answers: np.ndarray,
    attempts: np.ndarray,
    config: VerdictConfig,
    memories: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> None:
    """`learn` for targets of ASes judged UP, given as arrays; writes into `updated` (the new table).
    `memories`: availability, rounds and ever-answered of these targets in `targets` (an unknown
    one: the default, 0, False), when the caller has read them already; else they are read here.

    The same arithmetic as `learn`, element for element, so both give identical tables.
    """
    if not target_ids:
        return
    default, min_alpha = config.default_availability, config.availability_min_alpha
    settled = int(1.0 / min_alpha)
    if memories is None:
        a, rounds, ever = memory_columns(list(map(targets.get, target_ids, repeat((default, 0, False)))))
    else:
        a, rounds, ever = memories
    unanswered = attempts - answers
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(unanswered > 0, 1.0 - unanswered / np.maximum(attempts, 1), 1.0)
    alpha = np.where(rounds >= settled, min_alpha, np.maximum(1.0 / (rounds + 2), min_alpha))
    new_a = a + alpha * (x - a)
    new_rounds = np.where(rounds < settled, rounds + 1, rounds)
    new_ever = ever | (x > 0)
    updated.update(
        zip(target_ids, zip(new_a.tolist(), new_rounds.tolist(), new_ever.tolist(), strict=True), strict=True)
    )
