"""A token bucket that paces sends under one global rate cap (pure; time is an argument).

The drivers ask `take(now_ns, wanted)` how many packets or requests they may start now and
`next_token_ns()` when to come back. Bursts are bounded so that a sweep at tens of thousands of
packets per second sends in small batches and yields to the receive side between them
(measured on a 2-core machine, docs/probe-engine.md: without that, or a receive buffer of a
few MB, most replies are dropped).
"""

from __future__ import annotations

# One burst covers at most 2 ms of the rate: at 100k packets/s that is 200 packets, far below
# what a several-MB receive buffer holds, and asyncio's timers are good to about 1 ms.
DEFAULT_BURST_WINDOW_NS = 2_000_000

NS_PER_S = 1_000_000_000


class Pacer:
    def __init__(
        self, rate_per_s: float, now_ns: int, burst_window_ns: int = DEFAULT_BURST_WINDOW_NS
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate must be positive, not {rate_per_s}")
        self.rate_per_s = rate_per_s
        self.capacity = max(1.0, rate_per_s * burst_window_ns / NS_PER_S)
        # Start with one token: the first send goes at once, the rest are paced.
        self._tokens = 1.0
        self._updated_ns = now_ns

    def _refill(self, now_ns: int) -> None:
        if now_ns > self._updated_ns:
            self._tokens = min(
                self.capacity, self._tokens + (now_ns - self._updated_ns) * self.rate_per_s / NS_PER_S
            )
            self._updated_ns = now_ns

    def take(self, now_ns: int, wanted: int = 1) -> int:
        """How many of `wanted` sends may start at `now_ns` (consumed from the bucket)."""
        self._refill(now_ns)
        granted = max(0, min(wanted, int(self._tokens)))
        self._tokens -= granted
        return granted

    def give_back(self, count: int) -> None:
        """Return tokens granted but not used (nothing was due after all)."""
        self._tokens = min(self.capacity, self._tokens + count)

    def charge(self, count: int) -> None:
        """Count sends made without a token (paid after the fact): later sends wait for them."""
        self._tokens -= count

    def next_token_ns(self) -> int:
        """When the next whole token is available (the caller sleeps until then)."""
        missing = 1.0 - self._tokens
        if missing <= 0:
            return self._updated_ns
        return self._updated_ns + int(missing * NS_PER_S / self.rate_per_s) + 1
