"""An immutable map from integer ranges to values, with most-specific-range lookup.

Theory of operation: datasets give inclusive ranges [first, last] -> value.
ip-location-db and iptoasn ranges never overlap; RouteViews prefixes nest
(a /16 inside a /8), and the most specific one must win (longest-prefix
match). We flatten every input once, at build time, into sorted disjoint
segments in which the innermost range wins, so a lookup is one `bisect` over
an array of segment starts plus one comparison with the segment's end:
O(log n) with the loop in C. IPv4 tables keep starts and ends in 32-bit arrays: 4 bytes per
entry in one block of memory, where a list of int objects scatters them (and costs three
times as much per bisect on the 411,961-range real table, from cache misses).

Flattening sorts ranges by (first, -last) so a range comes after every range
that contains it, then sweeps with a stack of open ranges; only runs of
overlapping ranges are swept (real files are sorted and almost disjoint), the
rest is copied column-wise. Ranges that
overlap without nesting (bad data, not produced by the formats we read) are
resolved in favour of the later-starting range from its start on.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress
from operator import itemgetter
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class RangeTable(Generic[V]):
    """Sorted disjoint segments: segment i covers starts[i]..ends[i] and maps to values[i]."""

    starts: Sequence[int]
    ends: Sequence[int]
    values: list[V]

    @classmethod
    def build(cls, ranges: Iterable[tuple[int, int, V]], *, bits: int = 128) -> RangeTable[V]:
        """Build from (first, last, value) triples in any order; the innermost range wins.

        bits=32 stores the bounds in compact arrays (every bound must be below 2**32).
        """
        table = cls._build_lists(ranges)
        if bits <= 32:
            return cls(array("I", table.starts), array("I", table.ends), table.values)
        return table

    @classmethod
    def _build_lists(cls, ranges: Iterable[tuple[int, int, V]]) -> RangeTable[V]:
        ordered = list(ranges)
        if not ordered:
            return cls([], [], [])
        firsts = [r[0] for r in ordered]
        if not all(map(int.__le__, firsts[:-1], firsts[1:])):  # files usually come sorted
            ordered.sort(key=itemgetter(0))
            firsts = [r[0] for r in ordered]
        lasts = [r[1] for r in ordered]
        values = [r[2] for r in ordered]
        # A range overlaps an earlier one when it starts before the furthest end so far; runs of
        # such ranges ("clusters") need the sweep, everything between them is copied as is.
        furthest = list(accumulate(lasts, max))
        overlapping = list(compress(range(1, len(ordered)), map(int.__le__, firsts[1:], furthest[:-1])))
        if not overlapping:
            return cls(firsts, lasts, values)
        out_starts: list[int] = []
        out_ends: list[int] = []
        out_values: list[V] = []
        copied_up_to = 0
        for cluster_start, cluster_end in _runs(overlapping):
            out_starts.extend(firsts[copied_up_to:cluster_start])
            out_ends.extend(lasts[copied_up_to:cluster_start])
            out_values.extend(values[copied_up_to:cluster_start])
            _sweep(ordered[cluster_start:cluster_end], out_starts, out_ends, out_values)
            copied_up_to = cluster_end
        out_starts.extend(firsts[copied_up_to:])
        out_ends.extend(lasts[copied_up_to:])
        out_values.extend(values[copied_up_to:])
        return cls(out_starts, out_ends, out_values)

    def find(self, key: int) -> V | None:
        """The value of the segment holding key, or None."""
        index = bisect_right(self.starts, key) - 1
        if index >= 0 and key <= self.ends[index]:
            return self.values[index]
        return None

    def __len__(self) -> int:
        return len(self.starts)


def _runs(overlapping: list[int]) -> Iterator[tuple[int, int]]:
    """Clusters [start, end) from the sorted indices of ranges that overlap their predecessors."""
    start = end = overlapping[0] - 1
    for index in overlapping:
        if index != end + 1:
            yield start, end + 1
            start = index - 1
        end = index
    yield start, end + 1


def _sweep(cluster: list[tuple[int, int, V]], starts: list[int], ends: list[int], values: list[V]) -> None:
    """Flatten overlapping ranges into disjoint segments where the innermost range wins."""
    cluster.sort(key=lambda r: (r[0], -r[1]))  # a range after every range that contains it
    add_start, add_end, add_value = starts.append, ends.append, values.append  # hot loop
    stack: list[tuple[int, V]] = []  # open ranges (last, value), innermost on top
    cursor = 0  # first address not yet emitted
    for first, last, value in cluster:
        while stack and stack[-1][0] < first:  # close ranges that end before this one starts
            end, outer = stack.pop()
            if cursor <= end:
                add_start(cursor), add_end(end), add_value(outer)
                cursor = end + 1
        if stack and cursor < first:  # the enclosing range covers the gap before this one
            add_start(cursor), add_end(first - 1), add_value(stack[-1][1])
        # An open range ending inside [first, last] is superseded from `first` on.
        while stack and stack[-1][0] <= last:
            stack.pop()
        stack.append((last, value))
        cursor = first
    while stack:
        end, outer = stack.pop()
        if cursor <= end:
            add_start(cursor), add_end(end), add_value(outer)
            cursor = end + 1
