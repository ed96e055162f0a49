"""Backoff with jitter, and spreading / failing over between several collectors."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from vantage.probe.daemon.backoff import BackoffPolicy, backoff_delay_s
from vantage.probe.daemon.pool import PoolState, rendezvous_order


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_backoff_grows_to_its_ceiling() -> None:
    policy = BackoffPolicy(initial_delay_s=1, max_delay_s=60, min_delay_s=0.1)
    top = FixedRandom(0.999999)
    delays = [backoff_delay_s(n, policy, top) for n in range(1, 12)]
    assert delays[:4] == pytest.approx([1, 2, 4, 8], rel=1e-3)
    assert delays[-1] == pytest.approx(60, rel=1e-3)
    assert backoff_delay_s(10_000, policy, top) == pytest.approx(60, rel=1e-3)


def test_backoff_never_below_the_floor_and_jittered() -> None:
    policy = BackoffPolicy(initial_delay_s=1, max_delay_s=60, min_delay_s=0.2)
    assert backoff_delay_s(1, policy, FixedRandom(0.0)) == 0.2
    rng = random.Random(7)
    draws = {round(backoff_delay_s(6, policy, rng), 6) for _ in range(50)}
    assert len(draws) > 40 and all(0.2 <= d <= 32 for d in draws)


def test_invalid_backoff_policy() -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(initial_delay_s=10, max_delay_s=1)


def test_rendezvous_spreads_a_fleet_evenly_and_stably() -> None:
    addresses = ["c1:7443", "c2:7443", "c3:7443"]
    firsts = Counter(rendezvous_order(addresses, f"probe-{n}")[0] for n in range(3000))
    assert set(firsts) == set(addresses)
    assert all(800 < count < 1200 for count in firsts.values())
    assert rendezvous_order(addresses, "probe-1") == rendezvous_order(list(reversed(addresses)), "probe-1")


def test_failover_and_return_to_the_preferred_collector() -> None:
    policy = BackoffPolicy(initial_delay_s=1, max_delay_s=10, min_delay_s=0.5)
    rng = FixedRandom(0.999)
    pool = PoolState.create(["a:1", "b:1"], key="probe-x")
    first, second = (e.address for e in pool.endpoints)
    assert pool.pick(0.0).address == first
    pool = pool.failed(first, 0.0, policy, rng)
    assert pool.pick(0.1).address == second
    pool = pool.failed(second, 0.1, policy, rng)
    waiting = pool.pick(0.2)
    assert waiting.address is None and 0 < waiting.wait_s <= 1.0
    assert pool.pick(1.5).address == first  # its delay is over: back to the preferred one
    pool = pool.succeeded(first)
    assert pool.endpoints[0].failures == 0


def test_fixed_delay_for_a_revoked_credential() -> None:
    pool = PoolState.create(["a:1"], key="k").failed_for("a:1", 100.0, 900.0)
    assert pool.pick(500.0).address is None
    assert pool.pick(1000.0).address == "a:1"


def test_empty_pool_is_an_error() -> None:
    with pytest.raises(ValueError):
        PoolState.create([], key="k")
