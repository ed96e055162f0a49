"""RangeTable: flattened lookups equal a brute-force search over the original ranges."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vantage.collector.asn.rangetable import RangeTable

BOUND = 200
range_strategy = st.tuples(st.integers(0, BOUND), st.integers(0, 40)).map(lambda r: (r[0], r[0] + r[1]))


def brute_force(ranges: list[tuple[int, int]], key: int) -> int | None:
    """The most specific range: latest start, then earliest end, then latest in the input."""
    best: tuple[int, int, int] | None = None
    for index, (first, last) in enumerate(ranges):
        if first <= key <= last:
            candidate = (first, -last, index)
            if best is None or candidate > best:
                best = candidate
    return None if best is None else best[2]


@settings(max_examples=300, deadline=None)
@given(st.lists(range_strategy, max_size=30), st.booleans())
def test_lookup_equals_brute_force(ranges: list[tuple[int, int]], compact: bool) -> None:
    table = RangeTable.build(
        [(first, last, index) for index, (first, last) in enumerate(ranges)], bits=32 if compact else 128
    )
    assert list(table.starts) == sorted(table.starts)
    assert all(end >= start for start, end in zip(table.starts, table.ends, strict=True))
    assert all(nxt > end for end, nxt in zip(table.ends, list(table.starts)[1:], strict=False))
    for key in range(-1, BOUND + 42):
        assert table.find(key) == brute_force(ranges, key), key


def test_prefixes_nest_like_longest_prefix_match() -> None:
    # 10.0.0.0/8 ⊃ 10.1.0.0/16 ⊃ 10.1.2.0/24, and a sibling /16 that ends with the /8's sub-range
    def prefix(a: int, b: int, c: int, length: int) -> tuple[int, int]:
        first = (a << 24) | (b << 16) | (c << 8)
        return first, first | ((1 << (32 - length)) - 1)

    ranges = [
        (*prefix(10, 0, 0, 8), "/8"),
        (*prefix(10, 1, 0, 16), "/16"),
        (*prefix(10, 1, 2, 24), "/24"),
        (*prefix(10, 255, 0, 16), "last /16"),
    ]
    table = RangeTable.build(ranges, bits=32)
    assert table.find(prefix(10, 1, 2, 32)[0]) == "/24"
    assert table.find(prefix(10, 1, 3, 32)[0]) == "/16"
    assert table.find(prefix(10, 2, 0, 32)[0]) == "/8"
    assert table.find(prefix(10, 255, 255, 32)[0] | 255) == "last /16"
    assert table.find(prefix(11, 0, 0, 32)[0]) is None
    assert len(table) == 6
