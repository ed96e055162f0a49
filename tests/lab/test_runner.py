"""The timeline runner, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from vantage.lab.experiment import BackgroundStatus
from vantage.lab.runner import StagedAction, plan_step, run_timeline, staged_actions, staged_truth
from vantage.lab.scenario import Action, ExpectedEvent, Scope

KZ = Scope(country="KZ")
KCELL = Scope(asns=(29355,))


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


class InlineStatus:
    """A status query run in the loop's own call (it takes no time unless the function says so)."""

    def __init__(self, query: Callable[[float], None]) -> None:
        self.query = query

    def busy(self) -> bool:
        return False

    def start(self, elapsed_s: float) -> None:
        self.query(elapsed_s)


class SlowStatus:
    """A status query that runs elsewhere and takes `takes_s` of the fake clock."""

    def __init__(self, clock: FakeClock, takes_s: float) -> None:
        self.clock, self.takes_s = clock, takes_s
        self.started: list[float] = []
        self._started_at: float | None = None

    def busy(self) -> bool:
        return self._started_at is not None and self.clock.now < self._started_at + self.takes_s

    def start(self, elapsed_s: float) -> None:
        assert not self.busy(), "a query was started while one was running"
        self.started.append(elapsed_s)
        self._started_at = self.clock.now


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

    timeline = run_timeline(
        actions,
        30,
        apply=apply,
        status=InlineStatus(ticks.append),
        clock=clock,
        sleep=clock.sleep,
        tick_s=3,
    )
    assert applied == [(4.0, ("loss",), 1), (10.0, ("cut", "clear"), 1), (25.0, ("restore",), 0)]
    assert timeline.active == ()
    assert ticks == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]
    assert clock.now - 1000.0 == 30
    assert [(s.action.kind, s.staged_s, s.late_s) for s in timeline.staged] == [
        ("loss", 4, 0),
        ("cut", 10, 0),
        ("clear", 10, 0),
        ("restore", 25, 0),
    ]


def test_a_status_query_run_in_the_loop_delays_an_action_by_at_most_itself() -> None:
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
        status=InlineStatus(slow_tick),
        clock=clock,
        sleep=clock.sleep,
        tick_s=2,
    )
    # Late by at most the one tick that was running when it fell due.
    assert len(fired_at) == 1 and 6 <= fired_at[0] <= 6 + 5
    assert ticks == sorted(set(ticks)) and len(ticks) <= 3


def test_a_slow_status_query_delays_no_action_and_overrunning_ticks_are_skipped() -> None:
    """The traceroute-cuts case: a status query slower (15 s) than the gap between a restore at
    70 s and the next cut at 80 s. Each is staged at its own time, in its own call."""
    clock = FakeClock()
    applied: list[tuple[float, tuple[str, ...]]] = []
    status = SlowStatus(clock, takes_s=15)
    actions = [
        Action(45, "cut", KCELL, "border cut"),
        Action(70, "restore", KCELL, "restore"),
        Action(80, "cut", KCELL, "inside cut", method="inside"),
        Action(105, "restore", KCELL, "restore"),
    ]
    timeline = run_timeline(
        actions,
        120,
        apply=lambda active, fired, elapsed: applied.append((elapsed, tuple(a.kind for a in fired))),
        status=status,
        clock=clock,
        sleep=clock.sleep,
        tick_s=5,
    )
    assert applied == [(45, ("cut",)), (70, ("restore",)), (80, ("cut",)), (105, ("restore",))]
    assert all(record.late_s == 0 for record in timeline.staged)
    # One query at a time; the ticks due meanwhile (5 s, 10 s, ...) dropped, not queued.
    assert status.started == [0, 15, 30, 45, 60, 75, 90, 105]
    assert timeline.status_started_s == tuple(status.started)
    assert timeline.status_skipped == 24 - 8  # a tick every 5 s from 0 s to 115 s


def test_plan_step_fires_what_is_due_whatever_the_status_query_does() -> None:
    pending = [Action(70, "restore", KCELL, "restore"), Action(80, "cut", KCELL, "cut")]
    busy = plan_step(70.2, pending, 75, status_busy=True, tick_s=5, duration_s=120)
    assert [a.at_s for a in busy.fire] == [70] and not busy.start_status and busy.next_tick_s == 75
    # Ticks at 75 and 80 due while busy: both dropped, the next one is 85.
    overran = plan_step(80.0, pending[1:], 75, status_busy=True, tick_s=5, duration_s=120)
    assert [a.at_s for a in overran.fire] == [80]
    assert (overran.start_status, overran.skipped_ticks, overran.next_tick_s) == (False, 2, 85)
    free = plan_step(80.0, pending[1:], 75, status_busy=False, tick_s=5, duration_s=120)
    assert (free.start_status, free.skipped_ticks, free.next_tick_s) == (True, 1, 85)
    end = plan_step(120.0, [], 120, status_busy=False, tick_s=5, duration_s=120)
    assert end.finished and not end.start_status


def test_a_blocked_status_thread_does_not_hold_up_the_timeline() -> None:
    """The experiment's background status: a query that cannot return until the last action
    has been staged (were it run in the loop, the run would never get that far)."""
    clock = FakeClock()
    last_staged = threading.Event()
    queried: list[float] = []
    released: list[bool] = []

    def query(elapsed: float) -> None:
        queried.append(elapsed)
        released.append(last_staged.wait(timeout=30))  # the bound only stops a broken run hanging

    def apply(active: tuple[Action, ...], fired: tuple[Action, ...], elapsed: float) -> None:
        if any(action.at_s == 80 for action in fired):
            last_staged.set()

    status = BackgroundStatus(query)
    try:
        timeline = run_timeline(
            [Action(70, "restore", KCELL, "restore"), Action(80, "cut", KCELL, "cut")],
            90,
            apply=apply,
            status=status,
            clock=clock,
            sleep=clock.sleep,
            tick_s=5,
        )
    finally:
        last_staged.set()
        status.finish()
    assert [(s.action.at_s, s.staged_s) for s in timeline.staged] == [(70, 70), (80, 80)]
    assert queried[0] == 0 and released[0] is True


def test_a_failing_status_query_is_raised_when_the_run_finishes() -> None:
    def query(elapsed: float) -> None:
        raise ValueError(f"bad status at {elapsed}")

    status = BackgroundStatus(query)
    status.start(3.0)
    try:
        status.finish()
    except ValueError as exc:
        assert "bad status at 3.0" in str(exc)
    else:
        raise AssertionError("the query's error was lost")
    status.finish()  # raised once


def test_the_truth_moves_onto_the_actual_staging_times() -> None:
    restore, cut = Action(70, "restore", KCELL, "restore"), Action(80, "cut", KCELL, "cut")
    staged = (StagedAction(Action(45, "cut", KCELL, "cut"), 45.0), StagedAction(restore, 84.5))
    staged += (StagedAction(cut, 84.5),)
    expected = (
        ExpectedEvent("outage", 29355, "", 45, 70, False),
        ExpectedEvent("outage", 29355, "", 80, None, False),
        ExpectedEvent("degradation", 0, "KZ", 50, 70, True),  # no action planned at 50 s
    )
    moved = staged_truth(expected, staged)
    assert [(e.from_s, e.to_s) for e in moved] == [(45, 84.5), (84.5, None), (50, 84.5)]
    assert [(e.kind, e.asn, e.country, e.optional) for e in moved] == [
        (e.kind, e.asn, e.country, e.optional) for e in expected
    ]
    assert [a.at_s for a in staged_actions(staged)] == [45, 84.5, 84.5]
