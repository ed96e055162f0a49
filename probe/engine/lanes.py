"""A priority queue of (time, item) for times that arrive in order within each "lane" (pure).

An ICMP sweep schedules each target's next packet at send time + interval and each packet's
deadline at send time + timeout. Send times only grow, so entries pushed with the same
interval (or timeout) come in time order: one FIFO per distinct delay replaces a heap, and
pushing or popping costs O(1) instead of O(log n) — on 65k targets the heap operations were a
visible share of the sweep. Lanes are few (usually one), so finding the earliest head is cheap.
If the driver's clock ever stepped backwards, an entry would only wait behind earlier ones in
its lane: late by that step, never lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


class Lanes:
    def __init__(self) -> None:
        self._lanes: dict[int, deque[tuple[int, int]]] = {}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def push(self, lane: int, at_ns: int, item: int) -> None:
        queue = self._lanes.get(lane)
        if queue is None:
            queue = self._lanes[lane] = deque()
        queue.append((at_ns, item))
        self._size += 1

    def extend(self, lane: int, entries: Iterable[tuple[int, int]]) -> None:
        queue = self._lanes.setdefault(lane, deque())
        before = len(queue)
        queue.extend(entries)
        self._size += len(queue) - before

    def head_ns(self) -> int | None:
        """The earliest time in the queue, or None when it is empty."""
        heads = [queue[0][0] for queue in self._lanes.values() if queue]
        return min(heads) if heads else None

    def pop_until(self, now_ns: int, limit: int) -> list[int]:
        """Up to `limit` items due at or before `now_ns`, earliest first."""
        popped: list[int] = []
        live = [queue for queue in self._lanes.values() if queue]
        if len(live) == 1:  # the common case: one delay for every target
            queue = live[0]
            while queue and queue[0][0] <= now_ns and len(popped) < limit:
                popped.append(queue.popleft()[1])
        else:
            while len(popped) < limit:
                earliest = min((q for q in live if q), key=lambda q: q[0][0], default=None)
                if earliest is None or earliest[0][0] > now_ns:
                    break
                popped.append(earliest.popleft()[1])
        self._size -= len(popped)
        return popped
