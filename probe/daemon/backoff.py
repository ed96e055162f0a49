"""Exponential backoff with jitter (pure; randomness is an argument).

"Full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015):
the delay is uniform in [0, min(cap, base * 2**attempt)], with a floor so that a
probe never retries in a tight loop. A whole fleet that lost its collector then
comes back spread out instead of in one thundering herd.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class RandomSource(Protocol):
    """What we need from random.Random (seeded by the caller; tests fix the seed)."""

    def random(self) -> float: ...


# 1 s first retry, 5 min ceiling: a collector restart costs seconds; an outage of
# hours costs at most one retry per probe per 5 minutes (Atlas controllers see
# probes reconnect on a similar scale).
DEFAULT_INITIAL_DELAY_S = 1.0
DEFAULT_MAX_DELAY_S = 300.0
# Never retry sooner than this, whatever the jitter draws.
DEFAULT_MIN_DELAY_S = 0.2


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    initial_delay_s: float = DEFAULT_INITIAL_DELAY_S
    max_delay_s: float = DEFAULT_MAX_DELAY_S
    min_delay_s: float = DEFAULT_MIN_DELAY_S
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.min_delay_s <= self.initial_delay_s <= self.max_delay_s:
            raise ValueError("backoff needs 0 < min_delay_s <= initial_delay_s <= max_delay_s")
        if self.multiplier < 1:
            raise ValueError("backoff multiplier must be at least 1")


def backoff_delay_s(failures: int, policy: BackoffPolicy, rng: RandomSource) -> float:
    """Delay before the next attempt after `failures` consecutive failures (>= 1)."""
    if failures < 1:
        return 0.0
    # Cap the exponent first: multiplier**1000 would overflow a float.
    exponent = min(failures - 1, 64)
    ceiling = min(policy.max_delay_s, policy.initial_delay_s * policy.multiplier**exponent)
    return max(policy.min_delay_s, ceiling * rng.random())
