"""An immutable map from integer ranges to values, with most-specific-range lookup.

Theory of operation: datasets give inclusive ranges [first, last] -> value.
ip-location-db and iptoasn ranges never overlap; RouteViews prefixes nest
(a /16 inside a /8), and the most specific one must win (longest-prefix
match). We flatten every input once, at build time, into sorted disjoint
segments in which the innermost range wins, so a lookup is one `bisect` over
a plain list of segment starts plus one comparison with the segment's end:
O(log n) with the loop in C.

Flattening sorts ranges by (first, -last) so a range comes after every range
that contains it, then sweeps with a stack of open ranges. Ranges that
overlap without nesting (bad data, not produced by the formats we read) are
resolved in favour of the later-starting range from its start on.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class RangeTable(Generic[V]):
    """Sorted disjoint segments: segment i covers starts[i]..ends[i] and maps to values[i]."""

    starts: list[int]
    ends: list[int]
    values: list[V]

    @classmethod
    def build(cls, ranges: Iterable[tuple[int, int, V]]) -> RangeTable[V]:
        """Build from (first, last, value) triples in any order; the innermost range wins."""
        ordered = sorted(ranges, key=lambda r: (r[0], -r[1]))
        starts: list[int] = []
        ends: list[int] = []
        values: list[V] = []
        if _disjoint(ordered):  # the common case (ip-location-db, iptoasn): no sweep needed
            for first, last, value in ordered:
                starts.append(first)
                ends.append(last)
                values.append(value)
            return cls(starts, ends, values)

        add_start, add_end, add_value = starts.append, ends.append, values.append  # hot loop
        stack: list[tuple[int, V]] = []  # open ranges (last, value), innermost on top
        cursor = 0  # first address not yet emitted
        for first, last, value in ordered:
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
        return cls(starts, ends, values)

    def find(self, key: int) -> V | None:
        """The value of the segment holding key, or None."""
        index = bisect_right(self.starts, key) - 1
        if index >= 0 and key <= self.ends[index]:
            return self.values[index]
        return None

    def __len__(self) -> int:
        return len(self.starts)


def _disjoint(ordered: list[tuple[int, int, V]]) -> bool:
    previous_last = -1
    for first, last, _ in ordered:
        if first <= previous_last:
            return False
        previous_last = last
    return True
