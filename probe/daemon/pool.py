"""Several collectors: which one to talk to now (pure; time is an argument).

Theory of operation. A probe is given one or more collector addresses (several
collectors share one database, so any of them accepts any probe). To spread a
fleet, every probe ranks the addresses by rendezvous hashing of (probe key,
address): each probe has its own stable preference order, and the fleet is
spread evenly with no coordination. To fail over, an address that fails is put
aside until a backoff delay has passed; the best-ranked address that is not put
aside is used, so a probe returns to its preferred collector once it recovers.
When every address is put aside, `pick` says how long to wait.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from vantage.probe.daemon.backoff import BackoffPolicy, RandomSource, backoff_delay_s


def rendezvous_order(addresses: Sequence[str], key: str) -> tuple[str, ...]:
    """Addresses by descending hash weight for this key (stable, deterministic)."""

    def weight(address: str) -> bytes:
        return hashlib.sha256(f"{key}\x00{address}".encode()).digest()

    return tuple(sorted(dict.fromkeys(addresses), key=weight, reverse=True))


@dataclass(frozen=True, slots=True)
class Endpoint:
    address: str
    failures: int = 0
    retry_at_s: float = 0.0  # monotonic seconds


@dataclass(frozen=True, slots=True)
class Pick:
    """`address` to use now, or None and how long to wait first."""

    address: str | None
    wait_s: float


@dataclass(frozen=True, slots=True)
class PoolState:
    endpoints: tuple[Endpoint, ...]

    @classmethod
    def create(cls, addresses: Sequence[str], key: str) -> PoolState:
        if not addresses:
            raise ValueError("at least one collector address is needed")
        return cls(tuple(Endpoint(address) for address in rendezvous_order(addresses, key)))

    def pick(self, now_s: float) -> Pick:
        for endpoint in self.endpoints:
            if endpoint.retry_at_s <= now_s:
                return Pick(endpoint.address, 0.0)
        soonest = min(endpoint.retry_at_s for endpoint in self.endpoints)
        return Pick(None, soonest - now_s)

    def failed(self, address: str, now_s: float, policy: BackoffPolicy, rng: RandomSource) -> PoolState:
        return self._update(address, lambda e: _failed(e, now_s, policy, rng))

    def failed_for(self, address: str, now_s: float, delay_s: float) -> PoolState:
        """Put an address aside for a fixed delay (a revoked credential, say)."""
        return self._update(
            address, lambda e: replace(e, failures=e.failures + 1, retry_at_s=now_s + delay_s)
        )

    def succeeded(self, address: str) -> PoolState:
        return self._update(address, lambda e: replace(e, failures=0, retry_at_s=0.0))

    def _update(self, address: str, change: Callable[[Endpoint], Endpoint]) -> PoolState:
        return PoolState(tuple(change(e) if e.address == address else e for e in self.endpoints))


def _failed(endpoint: Endpoint, now_s: float, policy: BackoffPolicy, rng: RandomSource) -> Endpoint:
    failures = endpoint.failures + 1
    return replace(endpoint, failures=failures, retry_at_s=now_s + backoff_delay_s(failures, policy, rng))
