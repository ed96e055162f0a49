"""SendSchedule and the packet numbering it shares with the book (pure, fixed times)."""

from __future__ import annotations

import pytest

from vantage.probe.engine.icmp.schedule import SendSchedule, packet_index, packet_target

MS = 1_000_000


@pytest.mark.parametrize(
    ("target", "sequence", "targets", "index"),
    [(0, 0, 1, 0), (3, 0, 5, 3), (3, 2, 5, 13), (65_533, 1, 65_534, 131_067)],
)
def test_packet_numbering_round_trips(target: int, sequence: int, targets: int, index: int) -> None:
    assert packet_index(target, sequence, targets) == index
    assert packet_target(index, targets) == (target, sequence)


def test_one_packet_per_target_comes_out_in_target_order() -> None:
    schedule = SendSchedule([1] * 5, [0] * 5, start_ns=0)
    assert schedule.pop_due(0, 3) == [0, 1, 2]
    assert schedule.pop_due(0, 10) == [3, 4]
    assert schedule.done and schedule.pop_due(10 * MS, 10) == []


def test_later_packets_wait_for_their_interval() -> None:
    schedule = SendSchedule([2] * 5, [10 * MS] * 5, start_ns=0)
    assert schedule.pop_due(0, 3) == [0, 1, 2]
    assert schedule.pop_due(0, 3) == [3, 4]
    assert schedule.next_due_ns() == 10 * MS
    assert schedule.pop_due(9 * MS, 10) == []
    assert schedule.pop_due(10 * MS, 10) == [5, 6, 7, 8, 9]
    assert schedule.done


def test_nothing_is_due_before_the_start() -> None:
    schedule = SendSchedule([1, 1], [0, 0], start_ns=5 * MS)
    assert schedule.next_due_ns() == 5 * MS
    assert schedule.pop_due(4 * MS, 10) == []
    assert schedule.pop_due(5 * MS, 0) == []
    assert schedule.pop_due(5 * MS, 10) == [0, 1]


def test_mixed_counts_and_intervals() -> None:
    # Target 0: 3 packets 10 ms apart; target 1: one packet; target 2: 2 packets 5 ms apart.
    schedule = SendSchedule([3, 1, 2], [10 * MS, 0, 5 * MS], start_ns=0)
    assert schedule.pop_due(0, 10) == [0, 1, 2]
    assert schedule.next_due_ns() == 5 * MS
    assert schedule.pop_due(5 * MS, 10) == [5]  # target 2, sequence 1
    assert schedule.pop_due(10 * MS, 10) == [3]  # target 0, sequence 1
    assert not schedule.done
    assert schedule.pop_due(20 * MS, 10) == [6]  # target 0, sequence 2
    assert schedule.done and schedule.next_due_ns() is None


def test_a_sweep_too_big_for_32_bit_indices_is_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        SendSchedule([1 << 16] * (1 << 16 + 1), [0] * (1 << 16 + 1), start_ns=0)
