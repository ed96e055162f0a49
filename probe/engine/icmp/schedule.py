"""Which echo requests of a sweep are due when, and how packets are numbered (pure).

Packet numbering. Target t's k-th echo request is packet `k * targets + t`. Anyone who knows the
number of targets can tell a packet's target and sequence from its index alone, so the process
that sends (this one, or a forked sender: engine/icmp/fork.py) and the one that books replies
(engine/icmp/session.py) share nothing but the list of targets. The index travels in the payload and
its low 16 bits are the ICMP sequence number (engine/icmp/packets.py).

Scheduling. Every target's first packet is due at the start, in target order: a cursor walks
them, so a 65k-target sweep queues nothing up front. A target's next packet is due `interval`
after its previous one; those wait in Lanes (one FIFO per distinct interval). The first round
is always due no later than any later packet, so it is served first.
"""

from __future__ import annotations

from collections.abc import Sequence

from vantage.probe.engine.lanes import Lanes

# Indices travel as 32-bit numbers (engine/icmp/packets.py): a sweep holds at most this many packets.
MAX_PACKETS = 1 << 32


def packet_index(target: int, sequence: int, targets: int) -> int:
    return sequence * targets + target


def packet_target(index: int, targets: int) -> tuple[int, int]:
    """(target, sequence) of packet `index`."""
    sequence, target = divmod(index, targets)
    return target, sequence


class SendSchedule:
    def __init__(self, counts: Sequence[int], intervals_ns: Sequence[int], start_ns: int) -> None:
        self.targets = len(counts)
        if self.targets * max(counts, default=0) > MAX_PACKETS:
            raise ValueError(f"a sweep holds at most {MAX_PACKETS} packets")
        self._counts = counts
        self._intervals_ns = intervals_ns
        self._start_ns = start_ns
        self._cursor = 0  # targets below the cursor have sent their first packet
        self._single = all(count == 1 for count in counts)
        self._sent = [] if self._single else [0] * self.targets
        self._due = Lanes()
        self._remaining = sum(counts)

    @property
    def done(self) -> bool:
        """Every packet has been handed out."""
        return self._remaining == 0

    def next_due_ns(self) -> int | None:
        if self._cursor < self.targets:
            return self._start_ns
        return self._due.head_ns()

    def pop_due(self, now_ns: int, limit: int) -> list[int]:
        """Up to `limit` packet indices due at `now_ns`, earliest first (they count as sent)."""
        if limit <= 0 or self._remaining == 0:
            return []
        popped: list[int] = []
        if self._cursor < self.targets and self._start_ns <= now_ns:
            first = self._cursor
            self._cursor = min(self.targets, first + limit)
            popped = list(range(first, self._cursor))
            if not self._single:
                self._schedule_next(popped, now_ns)
        if len(popped) < limit and self._cursor >= self.targets and len(self._due):
            targets = self._due.pop_until(now_ns, limit - len(popped))
            sent, n = self._sent, self.targets
            later = [target + sent[target] * n for target in targets]
            self._schedule_next(targets, now_ns)
            popped.extend(later)
        self._remaining -= len(popped)
        return popped

    def _schedule_next(self, targets: list[int], now_ns: int) -> None:
        sent, counts, intervals_ns, push = self._sent, self._counts, self._intervals_ns, self._due.push
        for target in targets:
            count = sent[target] + 1
            sent[target] = count
            if count < counts[target]:
                interval = intervals_ns[target]
                push(interval, now_ns + interval, target)
