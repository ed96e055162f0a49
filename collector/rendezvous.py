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

`choose` walks the ranking in order and takes a probe when `accept` says so; the caller uses
that for "distinct ASes first, then any outside AS, then the target's own AS".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

_MASK64 = (1 << 64) - 1


def stable_hash64(text: str) -> int:
    """64-bit hash of a string, the same in every process and on every platform."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def pair_weight(key_hash: int, member_hash: int) -> int:
    """The rendezvous weight of a member for a key (splitmix64 finaliser of their XOR)."""
    z = key_hash ^ member_hash
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def ranked(key_hash: int, members: Sequence[tuple[int, T]]) -> list[T]:
    """Members (given as (member_hash, member)) from highest to lowest weight for the key."""
    weighted = sorted(
        ((pair_weight(key_hash, member_hash), index) for index, (member_hash, _) in enumerate(members)),
        reverse=True,
    )
    return [members[index][1] for _, index in weighted]


def choose(
    key_hash: int,
    members: Sequence[tuple[int, T]],
    count: int,
    passes: Sequence[Callable[[T, list[T]], bool]],
) -> list[T]:
    """Up to `count` members in rendezvous order, filled pass by pass.

    Each pass walks the whole ranking and takes members its predicate accepts given the ones
    already chosen (a member is never taken twice); later passes relax the constraints, so the
    result prefers members the first pass likes and falls back only when the fleet is short.
    """
    if count <= 0 or not members:
        return []
    order = ranked(key_hash, members)
    chosen: list[T] = []
    taken: set[int] = set()
    for accept in passes:
        for position, member in enumerate(order):
            if len(chosen) == count:
                return chosen
            if position not in taken and accept(member, chosen):
                chosen.append(member)
                taken.add(position)
    return chosen
