"""The schedule: one run per round, fetch at round end, keep measuring offline."""

from __future__ import annotations

import pytest

from vantage.probe.daemon.scheduler import Action, PlanTiming, ScheduleState, next_step

PLAN = PlanTiming(round=10, round_start_s=1000.0, round_length_s=60.0)


def test_no_plan_means_fetch_now_or_after_backoff() -> None:
    assert next_step(ScheduleState(None, None), 5.0).action is Action.FETCH
    step = next_step(ScheduleState(None, None, fetch_not_before_s=9.0), 5.0)
    assert (step.action, step.at_s) == (Action.FETCH, 9.0)


def test_fresh_plan_runs_once_then_fetches_at_round_end() -> None:
    step = next_step(ScheduleState(PLAN, None), 1010.0)
    assert (step.action, step.round, step.offline) == (Action.RUN, 10, False)
    step = next_step(ScheduleState(PLAN, 10), 1011.0)
    assert (step.action, step.at_s) == (Action.FETCH, 1060.0)


def test_plan_for_a_round_not_yet_started_waits_for_it() -> None:
    step = next_step(ScheduleState(PLAN, 9), 990.0)
    assert (step.action, step.at_s) == (Action.WAIT, 1000.0)


def test_stale_plan_fetches_when_allowed() -> None:
    step = next_step(ScheduleState(PLAN, 10), 1075.0)
    assert (step.action, step.at_s) == (Action.FETCH, 1075.0)


def test_stale_plan_after_a_good_fetch_is_fetched_again_not_repeated() -> None:
    # The collector had not opened the next round yet: ask again shortly, do not go offline.
    step = next_step(ScheduleState(PLAN, 10, fetch_not_before_s=1076.0), 1075.0)
    assert (step.action, step.at_s) == (Action.FETCH, 1076.0)


def test_offline_repeats_the_last_plan_once_per_round() -> None:
    offline = ScheduleState(PLAN, 10, fetch_not_before_s=1200.0, last_fetch_failed=True)
    step = next_step(offline, 1075.0)
    assert (step.action, step.round, step.offline) == (Action.RUN, 11, True)
    step = next_step(ScheduleState(PLAN, 11, fetch_not_before_s=1200.0, last_fetch_failed=True), 1076.0)
    assert (step.action, step.at_s) == (Action.WAIT, 1120.0)  # start of round 12
    step = next_step(ScheduleState(PLAN, 11, fetch_not_before_s=1100.0, last_fetch_failed=True), 1076.0)
    assert (step.action, step.at_s) == (Action.WAIT, 1100.0)  # the fetch retry comes first


def test_offline_repetition_stops_after_max_offline() -> None:
    state = ScheduleState(PLAN, 10, fetch_not_before_s=10_000.0, last_fetch_failed=True, max_offline_s=120.0)
    assert next_step(state, 1150.0).action is Action.RUN
    step = next_step(state, 1300.0)
    assert (step.action, step.at_s) == (Action.WAIT, 10_000.0)


def test_round_arithmetic() -> None:
    assert PLAN.round_at(999.0) == 10
    assert PLAN.round_at(1059.9) == 10
    assert PLAN.round_at(1060.0) == 11
    assert PLAN.start_of(12) == 1120.0
    with pytest.raises(ValueError):
        PlanTiming(round=1, round_start_s=0.0, round_length_s=0.0)


def test_upload_hold_back_only_when_ahead_beyond_tolerance() -> None:
    from vantage.probe.daemon.scheduler import SKEW_MARGIN_S, upload_hold_back_s

    assert upload_hold_back_s(clock_offset_s=+30.0, tolerance_s=5.0) == 0.0  # probe behind: fine
    assert upload_hold_back_s(clock_offset_s=-4.0, tolerance_s=5.0) == 0.0  # ahead, within tolerance
    assert upload_hold_back_s(clock_offset_s=-65.0, tolerance_s=5.0) == 60.0 + SKEW_MARGIN_S
    assert upload_hold_back_s(clock_offset_s=-65.0, tolerance_s=0.0) == 0.0  # collector gave none
