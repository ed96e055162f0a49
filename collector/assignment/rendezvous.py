"""Rendezvous (highest-random-weight) hashing: which probes serve a key, stably.

Theory of operation: every (key, probe) pair gets a pseudo-random 64-bit weight computed from
the two identifiers alone; a key is served by the probes with the highest weights. Adding or
removing a probe changes a key's choice only when that probe is (or was) among the chosen ones,
so churn of one probe in a fleet of N moves about 1/N of the work, and nothing else ever moves:
no state is kept between rounds, and every collector computes the same answer.

Weights: identifiers are hashed once with BLAKE2b (stable across processes and Python versions,
unlike `hash()`), and a pair's weight is the splitmix64 finaliser of the XOR of the two hashes
(Steele et al., "Fast splittable pseudorandom number generators", OOPSLA 2014), a cheap mix with
full avalanche, so rankings for different keys look independent.

`choose_in_order` walks a ranking in order and takes a member when a pass's predicate says so; the
caller uses that for "distinct ASes first, then any outside AS, then the target's own AS".

Scale: ranking every probe for every key costs keys × probes weights (75,000 ASes × 1,000
probes = 75 million). `top_members` computes the weights of many keys at once with numpy when it
is installed and keeps only each key's best `depth` members; a walk that does not fill up within
that prefix falls back to the full ranking, so the answer is always exactly the full one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

try:  # optional accelerator: the results are identical without it
    import numpy
except ImportError:  # pragma: no cover - numpy comes with matplotlib, a dependency
    numpy = None  # type: ignore[assignment]

T = TypeVar("T")
Pass = Callable[[T, list[T]], bool]

_MASK64 = (1 << 64) - 1
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
# Rows × members per numpy block: 4 M weights = 32 MB, small next to a collector's memory.
_BLOCK_WEIGHTS = 4_000_000


def stable_hash64(text: str) -> int:
    """64-bit hash of a string, the same in every process and on every platform."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def pair_weight(key_hash: int, member_hash: int) -> int:
    """The rendezvous weight of a member for a key (splitmix64 finaliser of their XOR)."""
    z = key_hash ^ member_hash
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK64
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK64
    return z ^ (z >> 31)


def ranked_indices(key_hash: int, member_hashes: Sequence[int]) -> list[int]:
    """Indices of the members from highest to lowest weight for the key."""
    weighted = sorted(((pair_weight(key_hash, h), i) for i, h in enumerate(member_hashes)), reverse=True)
    return [index for _, index in weighted]


def ranked(key_hash: int, members: Sequence[tuple[int, T]]) -> list[T]:
    """Members (given as (member_hash, member)) from highest to lowest weight for the key."""
    return [members[i][1] for i in ranked_indices(key_hash, [h for h, _ in members])]


def top_members(
    key_hashes: Sequence[int], member_hashes: Sequence[int], depth: int, *, use_numpy: bool = True
) -> list[list[int]]:
    """For each key, the indices of its `depth` highest-weight members, best first."""
    if len(member_hashes) <= depth or numpy is None or not use_numpy or not key_hashes:
        return [ranked_indices(key, member_hashes)[:depth] for key in key_hashes]
    members = numpy.array(member_hashes, dtype=numpy.uint64)
    keys = numpy.array(key_hashes, dtype=numpy.uint64)
    rows_per_block = max(1, _BLOCK_WEIGHTS // len(member_hashes))
    cut = len(member_hashes) - depth
    result: list[list[int]] = []
    for start in range(0, len(keys), rows_per_block):
        z = keys[start : start + rows_per_block, None] ^ members[None, :]
        # uint64 arithmetic wraps modulo 2**64, exactly like `& _MASK64` in pair_weight.
        z = (z ^ (z >> numpy.uint64(30))) * numpy.uint64(_MIX1)
        z = (z ^ (z >> numpy.uint64(27))) * numpy.uint64(_MIX2)
        z ^= z >> numpy.uint64(31)
        best = numpy.argpartition(z, cut, axis=1)[:, cut:]
        order = numpy.argsort(numpy.take_along_axis(z, best, axis=1), axis=1)[:, ::-1]
        result.extend(numpy.take_along_axis(best, order, axis=1).tolist())
    return result


def choose_in_order(order: Sequence[T], count: int, passes: Sequence[Pass[T]]) -> list[T]:
    """Up to `count` members of a ranking, filled pass by pass.

    Each pass walks the whole ranking and takes members its predicate accepts given the ones
    already chosen (a member is never taken twice); later passes relax the constraints, so the
    result prefers members the first pass likes and falls back only when the fleet is short.
    """
    chosen: list[T] = []
    taken: set[int] = set()
    for accept in passes:
        for position, member in enumerate(order):
            if len(chosen) >= count:
                return chosen
            if position not in taken and accept(member, chosen):
                chosen.append(member)
                taken.add(position)
    return chosen


def choose_exact(
    key_hash: int,
    prefix: Sequence[int],
    members: Sequence[tuple[int, T]],
    member_hashes: Sequence[int],
    count: int,
    passes: Sequence[Pass[T]],
) -> list[T]:
    """choose_in_order over the key's full ranking, from the `top_members` prefix when that suffices.

    When the first pass fills up inside the prefix, the full walk would have stopped there too;
    otherwise the relaxed passes need the whole ranking, which is then computed.
    """
    chosen: list[T] = []
    if count <= 0:
        return chosen
    first_pass = passes[0]
    for index in prefix:  # the first pass, walked lazily: it usually stops after a few members
        member = members[index][1]
        if first_pass(member, chosen):
            chosen.append(member)
            if len(chosen) == count:
                return chosen
    # Short: the relaxed passes walk the whole ranking (the prefix is all of it for small fleets).
    full = prefix if len(prefix) == len(members) else ranked_indices(key_hash, member_hashes)
    return choose_in_order([members[index][1] for index in full], count, passes)
