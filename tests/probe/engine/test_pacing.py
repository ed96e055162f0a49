"""The token bucket behind the global rate cap, with fixed times."""

from __future__ import annotations

import pytest

from vantage.probe.engine.pacing import Pacer

S = 1_000_000_000


def test_default_rate_sends_one_at_a_time() -> None:
    pacer = Pacer(100.0, now_ns=0)
    assert pacer.capacity == 1.0
    assert pacer.take(0, 10) == 1
    assert pacer.take(0, 10) == 0
    assert pacer.next_token_ns() == S // 100 + 1
    assert pacer.take(S // 100 + 1, 10) == 1


def test_a_fast_rate_sends_bounded_bursts() -> None:
    pacer = Pacer(100_000.0, now_ns=0)
    assert pacer.capacity == 200.0  # 2 ms worth
    pacer.take(0, 1)
    assert pacer.take(S, 10_000) == 200  # idle for a second: still one burst only


@pytest.mark.parametrize("rate", [10.0, 100.0, 1000.0, 65_000.0])
def test_long_run_rate_never_exceeds_the_cap(rate: float) -> None:
    pacer = Pacer(rate, now_ns=0)
    sent, now = 0, 0
    while now < S:
        sent += pacer.take(now, 1 << 30)
        now = max(now + 1, pacer.next_token_ns())
    assert sent <= rate + 1


def test_unused_tokens_can_be_given_back() -> None:
    pacer = Pacer(1000.0, now_ns=0)
    granted = pacer.take(0, 5)
    pacer.give_back(granted)
    assert pacer.take(0, 5) == granted


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Pacer(0.0, now_ns=0)


def test_a_charge_is_a_debt_that_later_sends_wait_for() -> None:
    pacer = Pacer(10.0, now_ns=0)
    assert pacer.take(0) == 1
    pacer.charge(2)  # two sends made without a token
    assert pacer.take(S // 10, 5) == 0  # a token came, but two are owed
    assert pacer.next_token_ns() == 3 * S // 10 + 1
    assert pacer.take(3 * S // 10 + 1) == 1
