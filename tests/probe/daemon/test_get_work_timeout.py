"""GetWork waits at most half a round, so a probe in a silent cut keeps measuring."""

from __future__ import annotations

import pytest

from vantage.probe.daemon.runner import DEFAULT_GET_WORK_TIMEOUT_S, get_work_timeout_s


@pytest.mark.parametrize(
    ("round_length_s", "expected_s"),
    [
        (None, DEFAULT_GET_WORK_TIMEOUT_S),  # no plan yet: the round length is unknown
        (300.0, DEFAULT_GET_WORK_TIMEOUT_S),  # real deployments: the default bound holds
        (20.0, 10.0),
        (3.0, 1.5),  # the lab's few-second rounds
        (0.5, 1.0),  # never below the floor
    ],
)
def test_get_work_timeout_is_bounded_by_half_a_round(round_length_s: float | None, expected_s: float) -> None:
    assert get_work_timeout_s(round_length_s) == expected_s
