"""Authentication failure limiting per source address (pure: time is an argument).

Every secret has 256 bits (auth.py): guessing one is hopeless, but each guess
still costs a hash, a database lookup and a log line, and nothing stopped one
source sending ~900 a second (issue 19). After `max_failures` failed
authentications from one address within `window_s`, that address is blocked
for `block_s`: its further attempts with a credential this collector has not
seen succeed get RESOURCE_EXHAUSTED, without a database lookup. A credential
that has authenticated here (the servicers' caches) always passes, so an
enrolled probe behind the same NAT as a guesser is never slowed.

The defaults (20 failures a minute, then a 5-minute block) leave room for a
misconfigured fleet behind one address to show up in the logs as
UNAUTHENTICATED first; they follow the shape of fail2ban's maxretry / findtime
/ bantime (https://fail2ban.readthedocs.io/). Memory is bounded: at most
`capacity` addresses are tracked, the least recently failing dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

DEFAULT_MAX_FAILURES = 20
DEFAULT_WINDOW_S = 60.0
DEFAULT_BLOCK_S = 300.0
DEFAULT_TRACKED_ADDRESSES = 65536


@dataclass(frozen=True, slots=True)
class FailureLimits:
    max_failures: int = DEFAULT_MAX_FAILURES
    window_s: float = DEFAULT_WINDOW_S
    block_s: float = DEFAULT_BLOCK_S
    capacity: int = DEFAULT_TRACKED_ADDRESSES

    def __post_init__(self) -> None:
        if self.max_failures < 1 or not self.window_s > 0 or not self.block_s > 0 or self.capacity < 1:
            raise ValueError(f"authentication failure limits must be positive: {self}")


@dataclass(slots=True)
class _Record:
    window_start_s: float
    failures: int
    blocked_until_s: float


class FailureLimiter:
    def __init__(self, limits: FailureLimits = FailureLimits()) -> None:
        self.limits = limits
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def blocked_for_s(self, address: str, now_s: float) -> float:
        """Seconds `address` stays blocked (0: not blocked)."""
        record = self._records.get(address)
        if record is None or record.blocked_until_s <= now_s:
            return 0.0
        return record.blocked_until_s - now_s

    def failed(self, address: str, now_s: float) -> bool:
        """Count one failure; True when it blocks the address."""
        limits = self.limits
        record = self._records.get(address)
        if record is None or now_s - record.window_start_s >= limits.window_s:
            record = _Record(now_s, 0, record.blocked_until_s if record is not None else 0.0)
        record.failures += 1
        blocks = record.failures >= limits.max_failures and record.blocked_until_s <= now_s
        if blocks:
            record.blocked_until_s = now_s + limits.block_s
            record.failures = 0
            record.window_start_s = now_s
        self._records[address] = record
        self._records.move_to_end(address)
        while len(self._records) > limits.capacity:
            self._records.popitem(last=False)
        return blocks

    def __len__(self) -> int:
        return len(self._records)
