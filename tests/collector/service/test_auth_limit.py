"""Authentication failure limiting per source address (pure; times are arguments)."""

from __future__ import annotations

import pytest

from vantage.collector.service.auth_limit import FailureLimiter, FailureLimits

LIMITS = FailureLimits(max_failures=3, window_s=60.0, block_s=300.0, capacity=4)


def test_n_failures_within_the_window_block_for_the_backoff() -> None:
    limiter = FailureLimiter(LIMITS)
    assert [limiter.failed("192.0.2.1", t) for t in (0.0, 1.0, 2.0)] == [False, False, True]
    assert limiter.blocked_for_s("192.0.2.1", 2.0) == 300.0
    assert limiter.blocked_for_s("192.0.2.1", 301.0) == 1.0
    assert limiter.blocked_for_s("192.0.2.1", 302.0) == 0.0
    assert limiter.blocked_for_s("192.0.2.2", 2.0) == 0.0  # per address


def test_failures_spread_wider_than_the_window_never_block() -> None:
    limiter = FailureLimiter(LIMITS)
    assert not any(limiter.failed("192.0.2.1", 61.0 * n) for n in range(100))
    assert limiter.blocked_for_s("192.0.2.1", 6100.0) == 0.0


def test_tracked_addresses_are_bounded() -> None:
    limiter = FailureLimiter(LIMITS)
    for n in range(100):
        limiter.failed(f"198.51.100.{n}", 0.0)
    assert len(limiter) == LIMITS.capacity


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        FailureLimits(max_failures=0)
