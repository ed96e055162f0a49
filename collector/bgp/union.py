"""Address counts over the union of prefixes, per AS, by interval arithmetic on ints (numpy).

A more specific announced inside a covering prefix must not be counted twice (AsRouting's
rule), so the size of an AS's space is the measure of the union of its intervals: sort each
AS's intervals by start and add what each one covers beyond the furthest end so far. All ASes
are done at once: each AS's intervals are shifted by its rank times 2**33 (beyond any IPv4
address), so one running maximum over the whole sorted array never crosses from one AS into
the next.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["ipv4_space", "union_sizes"]

_SPAN = 1 << 33  # > 2**32: keeps each AS's IPv4 intervals apart


def union_sizes(asns: ArrayLike, starts: ArrayLike, ends: ArrayLike) -> dict[int, int]:
    """{asn: addresses covered by the union of its [start, end) intervals} (IPv4 intervals)."""
    asn_array = np.asarray(asns, dtype=np.int64)
    if not len(asn_array):
        return {}
    start_array = np.asarray(starts, dtype=np.int64)
    end_array = np.asarray(ends, dtype=np.int64)
    order = np.lexsort((start_array, asn_array))
    asn_sorted = asn_array[order]
    unique, first, rank = np.unique(asn_sorted, return_index=True, return_inverse=True)
    offset = rank.astype(np.int64) * _SPAN
    start_shifted = start_array[order] + offset
    end_shifted = end_array[order] + offset
    furthest = np.maximum.accumulate(end_shifted)
    previous = np.empty_like(furthest)
    previous[0] = start_shifted[0]
    previous[1:] = furthest[:-1]
    covered = np.clip(end_shifted - np.maximum(start_shifted, previous), 0, None)
    sizes = np.add.reduceat(covered, first)
    return dict(zip(unique.tolist(), sizes.tolist(), strict=True))


def ipv4_space(asns: Sequence[int], keys: Sequence[int]) -> dict[int, int]:
    """{asn: IPv4 addresses of the union of its prefixes}, from prefix keys (prefixes.py);
    IPv6 keys (negative) are left out. An AS with only IPv6 keys is absent."""
    if not asns:
        return {}
    key_array = np.asarray(keys, dtype=np.int64) if all_fit_int64(keys) else None
    if key_array is None:  # IPv6 keys do not fit 64 bits: keep the IPv4 ones first
        pairs = [(asn, key) for asn, key in zip(asns, keys, strict=True) if key >= 0]
        if not pairs:
            return {}
        asns = [asn for asn, _ in pairs]
        key_array = np.asarray([key for _, key in pairs], dtype=np.int64)
    asn_array = np.asarray(asns, dtype=np.int64)
    ipv4 = key_array >= 0
    if not ipv4.all():
        asn_array, key_array = asn_array[ipv4], key_array[ipv4]
    if not len(key_array):
        return {}
    starts = key_array >> 8
    ends = starts + (np.int64(1) << (32 - (key_array & 0xFF)))
    return union_sizes(asn_array, starts, ends)


def all_fit_int64(keys: Sequence[int]) -> bool:
    return not keys or min(keys) >= 0
