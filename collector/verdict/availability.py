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

import math
from collections.abc import Mapping

from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.state import TargetMemory

# Availability is quantised to 1/1000 so the log-likelihood ratios come from a table.
_BUCKETS = 1000
NO_WEIGHT: tuple[float, float] = (0.0, 0.0)


class AvailabilityModel:
    """Round-local view of target availabilities with cached log-likelihood ratios."""

    __slots__ = ("_cache", "_config", "_table", "_targets")

    def __init__(self, targets: Mapping[str, TargetMemory], config: VerdictConfig) -> None:
        self._targets = targets
        self._config = config
        e = config.answer_probability_when_down
        table = []
        for bucket in range(_BUCKETS + 1):
            a = min(max(bucket / _BUCKETS, e), config.max_availability)
            table.append((math.log(a / e), math.log((1.0 - a) / (1.0 - e))))
        self._table = table
        self._cache: dict[str, tuple[float, float]] = {}

    def availability(self, target_id: str) -> float | None:
        """A(E), or None when the target carries no weight (never answered)."""
        memory = self._targets.get(target_id)
        if memory is None:
            return self._config.default_availability
        a, rounds, ever = memory
        if not ever and rounds >= self._config.never_answered_rounds:
            return None
        return a

    def llr(self, target_id: str) -> tuple[float, float]:
        """(answered, unanswered) log-likelihood ratios of one observation of this target."""
        cached = self._cache.get(target_id)
        if cached is not None:
            return cached
        a = self.availability(target_id)
        value = NO_WEIGHT if a is None else self._table[round(a * _BUCKETS)]
        self._cache[target_id] = value
        return value


def learn(
    targets: Mapping[str, TargetMemory],
    tallies: Mapping[str, tuple[int, int]],
    silent_tallies: Mapping[str, tuple[int, int]],
    config: VerdictConfig,
) -> dict[str, TargetMemory]:
    """A new target table with this round's (answered, attempts) per target folded in.

    `tallies` come from ASes judged UP and teach availability; `silent_tallies` come from the other
    ASes and only count rounds for targets that never answered, so that an AS dark since monitoring
    began ends UNKNOWN (not analysable, as in Trinocular) instead of DOWN forever.
    """
    updated = dict(targets)
    for target_id in silent_tallies:
        memory = targets.get(target_id)
        if memory is None:
            updated[target_id] = (config.default_availability, 1, False)
        elif not memory[2]:
            updated[target_id] = (memory[0], memory[1] + 1, False)
    default = config.default_availability
    min_alpha = config.availability_min_alpha
    for target_id, (answered, attempts) in tallies.items():
        if attempts <= 0:
            continue
        x = answered / attempts
        memory = targets.get(target_id)
        if memory is None:
            a, rounds, ever = default, 0, False
        else:
            a, rounds, ever = memory
        # The default counts as one pseudo-round, so the first real round moves A halfway.
        alpha = max(1.0 / (rounds + 2), min_alpha)
        updated[target_id] = (a + alpha * (x - a), rounds + 1, ever or answered > 0)
    return updated
