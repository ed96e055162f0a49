"""The timeline runner, driven by a fake clock (no sleeping)."""

from __future__ import annotations

from vantage.lab.runner import run_timeline
from vantage.lab.scenario import Action, Scope

KZ = Scope(country="KZ")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def test_actions_fire_on_schedule_and_together() -> None:
    clock = FakeClock()
    applied: list[tuple[float, tuple[str, ...], int]] = []
    ticks: list[float] = []
    actions = [
        Action(10, "cut", KZ, "cut"),
        Action(4, "loss", KZ, "loss", percent=20),
        Action(10, "clear", KZ, "clear"),
        Action(25, "restore", KZ, "restore"),
    ]

    def apply(active: tuple[Action, ...], fired: tuple[Action, ...], elapsed: float) -> None:
        applied.append((elapsed, tuple(a.kind for a in fired), len(active)))

    remaining = run_timeline(
        actions, 30, apply=apply, on_tick=ticks.append, clock=clock, sleep=clock.sleep, tick_s=3
    )
    assert applied == [(4.0, ("loss",), 1), (10.0, ("cut", "clear"), 1), (25.0, ("restore",), 0)]
    assert remaining == ()
    assert ticks == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]
    assert clock.now - 1000.0 == 30


def test_a_slow_tick_delays_an_action_by_at_most_itself_and_ticks_do_not_pile_up() -> None:
    clock = FakeClock()
    fired_at: list[float] = []
    ticks: list[float] = []

    def slow_tick(elapsed: float) -> None:
        ticks.append(elapsed)
        clock.now += 5.0  # a status query that takes longer than a round

    run_timeline(
        [Action(6, "cut", KZ, "cut")],
        12,
        apply=lambda active, fired, elapsed: fired_at.append(elapsed),
        on_tick=slow_tick,
        clock=clock,
        sleep=clock.sleep,
        tick_s=2,
    )
    # Late by at most the one tick that was running when it fell due.
    assert len(fired_at) == 1 and 6 <= fired_at[0] <= 6 + 5
    assert ticks == sorted(set(ticks)) and len(ticks) <= 3
