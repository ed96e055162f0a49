"""One IPv4 table for AS and country together, so that an IPv4 lookup is a single bisect.

Theory of operation: every AS table and every country table cuts the address space at its
ranges' starts and ends. Cutting at all of these boundaries at once gives segments inside
which every table gives one answer; each segment's answer is computed once, vectorised
(numpy searchsorted into each table, the first table holding it winning, in file order), as
AsnInfo objects shared between segments. Adjacent segments with the same answer are joined and
segments with no answer dropped (a lookup that lands there finds no segment: None).

Costs about 0.1 s per 100,000 ranges at load; in exchange a lookup does one bisect instead of one
per table. IPv6 (128-bit, beyond numpy's integers) keeps its per-table lookups.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import Any

import numpy

from vantage.collector.asn.rangetable import RangeTable

_Answer = Any  # AsnInfo | None; typed loosely here to keep this module below asn/database.py


def first_hits(tables: Sequence[RangeTable[Any]], keys: Any, missing: object) -> Any:
    """For each key (uint32 array), the value of the first table holding it: an object array."""
    return _first_hits(tables, [_object_array(t.values) for t in tables], keys, missing, object)


def _first_hits(
    tables: Sequence[RangeTable[Any]], table_values: Sequence[Any], keys: Any, missing: object, dtype: Any
) -> Any:
    found = numpy.full(len(keys), missing, dtype=dtype)
    pending = numpy.arange(len(keys))
    for table, values in zip(tables, table_values, strict=True):
        if not len(pending) or not len(table):
            continue
        starts = numpy.asarray(table.starts, dtype=numpy.uint32)  # a view of the 32-bit array
        ends = numpy.asarray(table.ends, dtype=numpy.uint32)
        wanted = keys[pending]
        index = numpy.searchsorted(starts, wanted, side="right") - 1
        hit = (index >= 0) & (wanted <= ends[numpy.maximum(index, 0)])
        found[pending[hit]] = values[index[hit]]
        pending = pending[~hit]
    return found


def _object_array(values: list[Any]) -> Any:
    array_of_objects = numpy.empty(len(values), dtype=object)
    array_of_objects[:] = values
    return array_of_objects


def merged_ipv4(
    asn_tables: Sequence[RangeTable[int]],
    country_tables: Sequence[RangeTable[str]],
    answer: Callable[[int, str], _Answer],
) -> RangeTable[_Answer]:
    """The segments of all tables, each mapped to answer(asn, country) (asn 0 / "" when none)."""
    tables: list[RangeTable[Any]] = [*asn_tables, *country_tables]
    if not any(len(table) for table in tables):
        return RangeTable(array("I"), array("I"), [])
    cuts = [numpy.asarray(t.starts, dtype=numpy.uint64) for t in tables if len(t)]
    cuts += [numpy.asarray(t.ends, dtype=numpy.uint64) + 1 for t in tables if len(t)]
    bounds = _sorted_unique(numpy.concatenate(cuts))
    starts = bounds[:-1].astype(numpy.uint32)  # only the last cut can be 2**32 (an end + 1)
    ends = (bounds[1:] - 1).astype(numpy.uint32)
    # Countries as small integers (0 = none), so that (asn, country) packs into one int64.
    country_names = ["", *sorted({code for table in country_tables for code in table.values})]
    code_of = {name: number for number, name in enumerate(country_names)}
    asn_values = [numpy.asarray(t.values, dtype=numpy.int64) for t in asn_tables]
    code_values = [numpy.array([code_of[c] for c in t.values], dtype=numpy.int64) for t in country_tables]
    asns = _first_hits(asn_tables, asn_values, starts, 0, numpy.int64)
    codes = _first_hits(country_tables, code_values, starts, 0, numpy.int64)
    packed = asns * len(country_names) + codes
    # Join runs of equal answers: a run starts where the answer changes.
    run_first = numpy.flatnonzero(numpy.concatenate(([True], packed[1:] != packed[:-1])))
    run_last = numpy.concatenate((run_first[1:] - 1, [len(packed) - 1]))
    run_packed = packed[run_first]
    keep = run_packed != 0  # neither an AS nor a country: a hole
    kept = run_packed[keep]
    order = numpy.argsort(kept, kind="stable")
    sorted_keys = kept[order]
    is_new = numpy.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1]))
    inverse = numpy.empty(len(kept), dtype=numpy.int64)
    inverse[order] = numpy.cumsum(is_new) - 1  # run -> index of its distinct (asn, country)
    distinct = [divmod(key, len(country_names)) for key in sorted_keys[is_new].tolist()]
    answers = _object_array([answer(asn, country_names[code]) for asn, code in distinct])
    values = answers[inverse].tolist()
    return RangeTable(_uint32_array(starts[run_first][keep]), _uint32_array(ends[run_last][keep]), values)


def _sorted_unique(values: Any) -> Any:
    """numpy.unique by sorting (its hash-based default is slower here: 1.5 M integers)."""
    values = numpy.sort(values)
    return values[numpy.concatenate(([True], values[1:] != values[:-1]))]


def _uint32_array(values: Any) -> array[int]:
    out = array("I")
    out.frombytes(values.astype(numpy.uint32).tobytes())
    return out
