"""What to do next, and when (pure; `now` is an argument, the runner sleeps).

Theory of operation. The collector hands out one work plan per round: a round
number, its start (converted to the probe's clock by the runner, using the
plan's server_time) and its length. The probe runs each round's tasks once, as
soon as the round has started, and fetches the next plan when the round ends.

Offline (a fetch failed and the plan is stale) the probe keeps measuring: it
repeats the last plan's tasks once per round, numbering the rounds forward from
the plan's clock, for at most `max_offline_s` (a probe in a country that was cut
off then has hours of evidence to upload when the link returns). Fetch retries
are paced by the caller's backoff, given here as `fetch_not_before_s`.

The engine paces packets inside a round (its rate cap), so the schedule itself
is per round, not per task.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

# One day of repeating a stale plan: long enough to cover the national shutdowns
# we exist for (Kazakhstan, January 2022: about a day of near-total cut), short
# enough that a probe abandoned without a collector stops after a day.
DEFAULT_MAX_OFFLINE_S = 24 * 3600.0


class Action(enum.Enum):
    FETCH = "fetch"  # ask the collector for the current plan
    RUN = "run"  # run the plan's tasks for `round`
    WAIT = "wait"  # nothing to do before `at_s`; then ask again


@dataclass(frozen=True, slots=True)
class PlanTiming:
    """The timing of the last plan fetched, in the probe's wall clock (seconds)."""

    round: int
    round_start_s: float
    round_length_s: float

    def __post_init__(self) -> None:
        if self.round_length_s <= 0:
            raise ValueError(f"round length must be positive, got {self.round_length_s}")

    def round_at(self, now_s: float) -> int:
        """The round number that `now_s` falls into, counting on from this plan."""
        if now_s < self.round_start_s:
            return self.round
        return self.round + math.floor((now_s - self.round_start_s) / self.round_length_s)

    def start_of(self, round_number: int) -> float:
        return self.round_start_s + (round_number - self.round) * self.round_length_s


@dataclass(frozen=True, slots=True)
class ScheduleState:
    plan: PlanTiming | None
    last_run_round: int | None
    # Earliest time a new fetch may be attempted (backoff after failures, or a
    # short pause after a fetch that returned the round already run).
    fetch_not_before_s: float = 0.0
    # Only a failed fetch makes a stale plan "offline": right after a successful
    # fetch the collector may simply not have opened the next round yet.
    last_fetch_failed: bool = False
    max_offline_s: float = DEFAULT_MAX_OFFLINE_S


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    at_s: float
    round: int = 0
    # True when `round` is counted forward from a stale plan (the probe is offline).
    offline: bool = False


def next_step(state: ScheduleState, now_s: float) -> Step:
    plan = state.plan
    fetch_at = max(now_s, state.fetch_not_before_s)
    if plan is None:
        return Step(Action.FETCH, fetch_at)
    done = state.last_run_round
    if now_s < plan.round_start_s:
        # The collector's round has not started on our clock yet.
        return Step(Action.WAIT, plan.round_start_s, plan.round)
    current = plan.round_at(now_s)
    if current == plan.round:
        if done is None or done < plan.round:
            return Step(Action.RUN, now_s, plan.round)
        return Step(Action.FETCH, max(plan.start_of(plan.round + 1), state.fetch_not_before_s))
    # The plan is stale: a newer round has started.
    if now_s >= state.fetch_not_before_s or not state.last_fetch_failed:
        return Step(Action.FETCH, fetch_at)
    offline_for_s = now_s - plan.start_of(plan.round + 1)
    may_repeat = offline_for_s <= state.max_offline_s
    if may_repeat and (done is None or done < current):
        return Step(Action.RUN, now_s, current, offline=True)
    wake_at = state.fetch_not_before_s
    if may_repeat:
        wake_at = min(wake_at, plan.start_of(current + 1))
    return Step(Action.WAIT, wake_at, current)


# Slack for the skew estimate itself (network delay when the plan was fetched).
SKEW_MARGIN_S = 1.0


def upload_hold_back_s(clock_offset_s: float, tolerance_s: float) -> float:
    """How long to hold a fresh result before uploading it, so the collector does not
    reject it as from the future.

    `clock_offset_s` is collector clock minus probe clock. When the probe's clock is
    ahead by more than the collector's tolerance, a result's timestamp lies in the
    collector's future until that excess has passed; sending it later is honest
    (the timestamp stays what the probe measured) and loses nothing. A tolerance of 0
    means the collector did not say: hold nothing.
    """
    if tolerance_s <= 0:
        return 0.0
    excess_s = -clock_offset_s - tolerance_s
    return excess_s + SKEW_MARGIN_S if excess_s > 0 else 0.0
