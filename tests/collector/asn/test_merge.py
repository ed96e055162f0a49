"""The merged IPv4 table answers exactly what the per-file tables answer, first file first."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vantage.collector.asn.merge import merged_ipv4
from vantage.collector.asn.rangetable import RangeTable

BOUND = 120
ranges = st.lists(
    st.tuples(st.integers(0, BOUND), st.integers(0, 30), st.integers(1, 4)).map(
        lambda r: (r[0], r[0] + r[1], r[2])
    ),
    max_size=12,
)


def first_hit(tables: list[RangeTable[object]], key: int, missing: object) -> object:
    for table in tables:
        found = table.find(key)
        if found is not None:
            return found
    return missing


@settings(max_examples=200, deadline=None)
@given(st.lists(ranges, max_size=3), st.lists(ranges, max_size=3))
def test_merged_equals_per_table_lookups(
    asn_files: list[list[tuple[int, int, int]]], country_files: list[list[tuple[int, int, int]]]
) -> None:
    asn_tables = [RangeTable.build(rows, bits=32) for rows in asn_files if rows]
    country_tables = [
        RangeTable.build([(first, last, "ABCD"[code - 1] + "Z") for first, last, code in rows], bits=32)
        for rows in country_files
        if rows
    ]
    merged = merged_ipv4(
        asn_tables, country_tables, lambda asn, cc: None if not asn and not cc else (asn, cc)
    )
    for key in range(BOUND + 35):
        asn = first_hit(asn_tables, key, 0)  # type: ignore[arg-type]
        country = first_hit(country_tables, key, "")  # type: ignore[arg-type]
        expected = None if not asn and not country else (asn, country)
        assert merged.find(key) == expected, key
    assert all(nxt > end for end, nxt in zip(merged.ends, list(merged.starts)[1:], strict=False))
