"""Robust statistics for an AS's loss and RTT: one vantage point can never hide or fake throttling.

Theory of operation
-------------------
An AS's per-round loss and RTT used to be the mean over every answered observation of every
vantage point (VP), and its baselines an EWMA of those means: one measurement with an RTT of
+inf made the baseline Infinity, then NaN; 1e308 (finite, so ingest's bound in
collector/wire/validation.py is the only guard) would have hidden throttling for weeks; one probe
reporting RTTs near 0 would lower the baseline until honest VPs looked throttled. Two defences:

- **Per round, the median across VPs.** Each VP's figure is the mean of its own finite,
  non-negative values (one VP is one witness however many rows it sends); the AS's figure is the
  median of those per-VP figures. With at least three VPs one extreme VP cannot move the median
  beyond the range of the others (with two, the median is their mean: two witnesses cannot tell
  which one lies: when they disagree beyond the throttling band there is no figure that round,
  and nothing is learned from it; the throttling rule needs both VPs anyway).
- **Baselines winsorised against themselves.** Before a round's figure enters the EWMA it is
  clamped into [baseline - step, baseline + step] in the throttling rule's own terms: at most the
  throttling limit (max(3 x, +50 ms) for RTT; max(2 x, +20 points) for loss), at least the mirror
  image (min(/3, -50 ms), floored at 0). An UP round's figure above the limit was by construction
  not corroborated, so it may nudge the baseline (a genuine, lasting change is followed within
  tens of rounds) but never jump it. A stored baseline that is not finite (state written before
  this rule) is dropped and learned again.

Pure: lists of floats in, floats out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def vantage_point_mean(values: Iterable[float | None]) -> float | None:
    """One VP's figure: the mean of its finite, non-negative values (None without any)."""
    kept = [x for x in values if x is not None and 0.0 <= x < math.inf]
    return _mean_of(kept)


def median(values: Sequence[float | None]) -> float | None:
    """The median of the values that are not None (the mean of the middle two for an even count)."""
    kept = sorted(x for x in values if x is not None)
    if not kept:
        return None
    middle = len(kept) // 2
    if len(kept) % 2:
        return kept[middle]
    low, high = kept[middle - 1], kept[middle]
    return low + (high - low) / 2.0  # not (low + high) / 2: two values near the float maximum overflow


def figure(values: Sequence[float | None], *, factor: float, increase: float) -> float | None:
    """An AS's figure from its VPs' figures: their median, except that two VPs that disagree
    beyond the throttling band (the larger above max(smaller x factor, smaller + increase)) give
    none: either may be the liar, and their mean is as much the liar's as the honest one's."""
    kept = [x for x in values if x is not None]
    if len(kept) == 2:
        low, high = min(kept), max(kept)
        if high > max(low * factor, low + increase):
            return None
    return median(kept)


def mean(values: Sequence[float | None]) -> float | None:
    """The mean of the values that are not None."""
    return _mean_of([x for x in values if x is not None])


def _mean_of(kept: list[float]) -> float | None:
    """Each value divided before the sum: a sum of values near the float maximum overflows."""
    n = len(kept)
    return sum(x / n for x in kept) if n else None


def finite_or_none(value: float | None) -> float | None:
    """A stored baseline as the engine may use it: None unless finite."""
    return value if value is not None and math.isfinite(value) else None


def winsorised(
    value: float | None, baseline: float | None, *, factor: float, increase: float
) -> float | None:
    """`value` clamped into the band a baseline update may use (see the module's docstring):
    [max(0, min(b / factor, b - increase)), max(b * factor, b + increase)]."""
    if value is None or baseline is None:
        return value
    high = max(baseline * factor, baseline + increase)
    low = max(0.0, min(baseline / factor, baseline - increase))
    return min(max(value, low), high)
