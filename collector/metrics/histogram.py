"""A histogram's bucket counts, kept as plain numbers and exported as a metric family."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from prometheus_client.metrics_core import HistogramMetricFamily

__all__ = ["BucketCounts"]


class BucketCounts:
    """Observations counted per bucket (not thread-safe: the owner holds its lock)."""

    def __init__(self, upper_bounds: Sequence[float]) -> None:
        if list(upper_bounds) != sorted(set(upper_bounds)) or not upper_bounds:
            raise ValueError(f"bucket bounds must be strictly increasing, got {upper_bounds}")
        self._bounds = tuple(float(b) for b in upper_bounds)
        # One slot per bound plus the +Inf bucket.
        self._counts = [0] * (len(self._bounds) + 1)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bucket (le = "less or equal").
        self._counts[bisect.bisect_left(self._bounds, value)] += 1
        self._sum += value

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for bound, count in zip((*self._bounds, float("inf")), self._counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=self._sum)
