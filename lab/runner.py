"""Applying a scenario's actions on schedule.

`run_timeline` owns no clock: it is given `clock()` (seconds, monotonic) and
`sleep(seconds)`, so a test drives it with a fake clock and never sleeps. Every
action due at the same moment is applied together (one reconcile), then
`on_tick` is called about once per `tick_s` (the live table's refresh) until
the scenario's duration has passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vantage.lab.dataplane import apply_action
from vantage.lab.scenario import Action

ApplyFunction = Callable[[tuple[Action, ...], tuple[Action, ...], float], None]


def run_timeline(
    actions: Sequence[Action],
    duration_s: float,
    *,
    apply: ApplyFunction,
    on_tick: Callable[[float], None],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    tick_s: float,
) -> tuple[Action, ...]:
    """Run the timeline; return the actions still in force at the end.

    `apply(active, fired, elapsed_s)` receives the actions in force after the
    ones that just fired.
    """
    start = clock()
    pending = sorted(actions, key=lambda action: action.at_s)
    active: tuple[Action, ...] = ()
    next_tick = 0.0
    while True:
        elapsed = clock() - start
        fired = []
        while pending and pending[0].at_s <= elapsed:
            action = pending.pop(0)
            active = apply_action(active, action)
            fired.append(action)
        if fired:
            apply(active, tuple(fired), elapsed)
        if elapsed >= duration_s:
            return active
        if elapsed >= next_tick:
            on_tick(elapsed)
            while next_tick <= elapsed:
                next_tick += tick_s
            elapsed = clock() - start
        wake = min([next_tick, duration_s, *(a.at_s for a in pending[:1])])
        sleep(max(0.0, wake - elapsed))
