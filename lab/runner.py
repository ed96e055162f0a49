"""Applying a scenario's actions on schedule, never waiting for a status query.

`run_timeline` owns no clock: it is given `clock()` (seconds, monotonic) and
`sleep(seconds)`, so a test drives it with a fake clock and never sleeps. Every
action due at the same moment is applied together (one reconcile). The live
view's status query (`vantage status`, slow on a loaded machine) is not run by
this loop: it is started through a `StatusQuery`, which runs it elsewhere (the
experiment's background thread), about once per `tick_s`. A query still running
when the next one falls due makes that one skipped, not queued, so the loop
only ever waits for the next action, the next tick or the end; an action is
never late because of a status query (a slow query once made a restore and the
next cut fire in one call, and two staged outages became one event).

Each action's actual staging time is recorded beside its planned one
(`StagedAction`), and `staged_truth` moves the ground truth onto the actual
times, so that the report measures detection from when the network changed.

The decisions (`plan_step`, `wake_at`, `staged_truth`) are pure functions of
their arguments, time included.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from vantage.lab.dataplane import apply_action
from vantage.lab.scenario import Action, ExpectedEvent

ApplyFunction = Callable[[tuple[Action, ...], tuple[Action, ...], float], None]


class StatusQuery(Protocol):
    """Runs the status query somewhere other than the timeline's loop."""

    def busy(self) -> bool:
        """True while the last query started is still running."""
        ...

    def start(self, elapsed_s: float) -> None:
        """Start one query for the moment `elapsed_s`; must return without waiting for it."""
        ...


@dataclass(frozen=True, slots=True)
class StagedAction:
    action: Action
    staged_s: float  # seconds from t=0 when it was applied (the scenario planned action.at_s)

    @property
    def late_s(self) -> float:
        return self.staged_s - self.action.at_s


@dataclass(frozen=True, slots=True)
class Timeline:
    active: tuple[Action, ...]  # still in force at the end
    staged: tuple[StagedAction, ...]  # every action, in the order applied
    status_started_s: tuple[float, ...]  # when each status query was started
    status_skipped: int  # ticks dropped because the previous query was still running


@dataclass(frozen=True, slots=True)
class Step:
    """What the loop does at one moment."""

    fire: tuple[Action, ...]  # due now, applied together
    start_status: bool
    skipped_ticks: int  # ticks that fell due while a query was running (dropped)
    next_tick_s: float
    finished: bool  # the scenario's duration has passed (after `fire` is applied)


def plan_step(
    elapsed_s: float,
    pending: Sequence[Action],
    next_tick_s: float,
    *,
    status_busy: bool,
    tick_s: float,
    duration_s: float,
) -> Step:
    """Decide, at `elapsed_s`, which pending actions (sorted by time) fire and whether a query starts.

    Actions due fire whatever the status query is doing. A tick due starts a query only when
    none is running; every tick up to `elapsed_s` is then consumed either way, so ticks missed
    while a query overran are dropped, not run in a burst afterwards.
    """
    fire = tuple(action for action in pending if action.at_s <= elapsed_s)
    finished = elapsed_s >= duration_s
    if finished or elapsed_s < next_tick_s:
        return Step(fire, False, 0, next_tick_s, finished)
    due = 0
    while next_tick_s <= elapsed_s:
        next_tick_s += tick_s
        due += 1
    start = not status_busy
    return Step(fire, start, due - 1 if start else due, next_tick_s, False)


def wake_at(pending: Sequence[Action], next_tick_s: float, duration_s: float) -> float:
    """The next moment the loop has something to do: an action, a tick or the end."""
    return min([next_tick_s, duration_s, *(action.at_s for action in pending[:1])])


def run_timeline(
    actions: Sequence[Action],
    duration_s: float,
    *,
    apply: ApplyFunction,
    status: StatusQuery,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    tick_s: float,
) -> Timeline:
    """Run the timeline; `apply(active, fired, elapsed_s)` receives the actions in force after
    the ones that just fired. Returns when the duration has passed; a status query may still be
    running then (its owner waits for it)."""
    start = clock()
    pending = sorted(actions, key=lambda action: action.at_s)
    active: tuple[Action, ...] = ()
    staged: list[StagedAction] = []
    status_started: list[float] = []
    skipped = 0
    next_tick = 0.0
    while True:
        elapsed = clock() - start
        step = plan_step(
            elapsed, pending, next_tick, status_busy=status.busy(), tick_s=tick_s, duration_s=duration_s
        )
        if step.fire:
            del pending[: len(step.fire)]
            for action in step.fire:
                active = apply_action(active, action)
            apply(active, step.fire, elapsed)
            staged.extend(StagedAction(action, elapsed) for action in step.fire)
        if step.finished:
            return Timeline(active, tuple(staged), tuple(status_started), skipped)
        if step.start_status:
            status.start(elapsed)
            status_started.append(elapsed)
        skipped += step.skipped_ticks
        next_tick = step.next_tick_s
        elapsed = clock() - start  # applying took time
        sleep(max(0.0, wake_at(pending, next_tick, duration_s) - elapsed))


def staged_truth(
    expected: Sequence[ExpectedEvent], staged: Sequence[StagedAction]
) -> tuple[ExpectedEvent, ...]:
    """The ground truth on the actual staging times: a `from`/`to` equal to an action's planned
    time becomes the time that action was applied (actions planned together are applied
    together). A time no action was planned at, or one whose action never ran, stays as planned."""
    actual: dict[float, float] = {}
    for record in staged:
        actual.setdefault(record.action.at_s, record.staged_s)

    def moved(planned_s: float) -> float:
        return actual.get(planned_s, planned_s)

    return tuple(
        dataclasses.replace(
            event, from_s=moved(event.from_s), to_s=None if event.to_s is None else moved(event.to_s)
        )
        for event in expected
    )


def staged_actions(staged: Sequence[StagedAction]) -> tuple[Action, ...]:
    """The actions with their actual times (for the chart's spans)."""
    return tuple(dataclasses.replace(record.action, at_s=record.staged_s) for record in staged)
