"""Lanes: per-delay FIFOs standing in for a heap of times."""

from __future__ import annotations

import heapq
import random

from vantage.probe.engine.lanes import Lanes


def test_pops_in_time_order_across_lanes_up_to_now_and_limit() -> None:
    lanes = Lanes()
    lanes.push(10, 10, 1)
    lanes.push(5, 5, 2)
    lanes.push(10, 20, 3)
    lanes.push(5, 25, 4)
    assert len(lanes) == 4 and lanes.head_ns() == 5
    assert lanes.pop_until(20, 2) == [2, 1]
    assert lanes.pop_until(20, 10) == [3]
    assert lanes.head_ns() == 25 and lanes.pop_until(24, 10) == []
    assert lanes.pop_until(25, 10) == [4] and lanes.head_ns() is None and len(lanes) == 0


def test_agrees_with_a_heap_when_each_lane_is_pushed_in_order() -> None:
    rng = random.Random(7)
    lanes, heap = Lanes(), []
    now = 0
    for item in range(2000):
        now += rng.randrange(3)
        delay = rng.choice([100, 250, 1000])
        lanes.push(delay, now + delay, item)
        heapq.heappush(heap, (now + delay, item))
    for cut in (now // 3, now // 2, now + 1000):
        popped_lanes = lanes.pop_until(cut, 1 << 30)
        popped_heap = []
        while heap and heap[0][0] <= cut:
            popped_heap.append(heapq.heappop(heap)[1])
        assert sorted(popped_lanes) == sorted(popped_heap)
        assert lanes.head_ns() == (heap[0][0] if heap else None)
