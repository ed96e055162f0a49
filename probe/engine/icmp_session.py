"""Book-keeping of one ICMP sweep: what to send when, what came back, the per-target result (pure).

Theory of operation. Each target owes `count` echo requests, `interval` apart. A heap orders
targets by when their next packet is due; the driver pops due targets as far as the global
pacer allows, sends, and reports the send time. Each packet gets a run-wide index (its
sequence number is the index mod 2**16, see icmp_wire.py), so a reply or an ICMP error leads
straight back to its packet and target. A packet is resolved by its first reply, by an ICMP
error, by a failed send, or by its deadline (send time + timeout) passing; a target is
complete when all its packets are sent and resolved, and the driver then emits its result.
Later replies for a resolved packet count as duplicates while the target is still open.
All times are integers in nanoseconds from one clock chosen by the driver.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

from vantage import failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome
from vantage.probe.engine.failure_map import kind_for_icmp_error
from vantage.probe.engine.icmp_wire import EchoError, describe_icmp_error
from vantage.probe.engine.model import IcmpDetails, IcmpErrorReport, IcmpOptions, PingReply

_OUTSTANDING, _REPLIED, _ERRORED, _LOST, _SEND_FAILED = 0, 1, 2, 3, 4
_OK, _FAILURE = Outcome.OK, Outcome.FAILURE  # looked up once: result() runs per target
NS_PER_MS = 1_000_000


class PingSweep:
    def __init__(self, targets: Sequence[tuple[str, IcmpOptions]], family: int, start_ns: int) -> None:
        self.family = family
        self.addresses = [address for address, _ in targets]
        self.options = [options for _, options in targets]
        count = len(targets)
        self._interval_ns = [int(o.interval_ms * NS_PER_MS) for o in self.options]
        self._timeout_ns = [int(o.timeout_ms * NS_PER_MS) for o in self.options]
        self._sent = [0] * count
        self._resolved = [0] * count
        self._packets: list[list[int]] = [[] for _ in range(count)]
        self._duplicates = [0] * count
        self._errors: dict[int, list[IcmpErrorReport]] = {}
        self._send_failures: dict[int, Failure] = {}
        self._complete = bytearray(count)
        self._open_targets = count
        self._completed: list[int] = []
        # Per packet, indexed by the run-wide packet index.
        self._packet_target: list[int] = []
        self._packet_sent_ns: list[int] = []
        self._packet_state = bytearray()
        self._packet_rtt_ns: list[int] = []
        self._packet_ttl: list[int] = []
        self._due: list[tuple[int, int]] = [(start_ns, i) for i in range(count)]  # already a heap
        self._deadlines: list[tuple[int, int]] = []
        for i, options in enumerate(self.options):
            if options.count <= 0:
                self._finish(i)

    # ------------------------------------------------------------ sending

    @property
    def done(self) -> bool:
        return self._open_targets == 0

    def next_due_ns(self) -> int | None:
        return self._due[0][0] if self._due else None

    def next_deadline_ns(self) -> int | None:
        return self._deadlines[0][0] if self._deadlines else None

    def pop_due(self, now_ns: int) -> int:
        """Allocate the next due packet and return its index, or -1 when none is due yet."""
        due = self._due
        if not due or due[0][0] > now_ns:
            return -1
        _, target = heapq.heappop(due)
        index = len(self._packet_target)
        self._packet_target.append(target)
        self._packet_sent_ns.append(now_ns)
        self._packet_state.append(_OUTSTANDING)
        self._packet_rtt_ns.append(0)
        self._packet_ttl.append(0)
        self._packets[target].append(index)
        self._sent[target] += 1
        if self._sent[target] < self.options[target].count:
            heapq.heappush(due, (now_ns + self._interval_ns[target], target))
        return index

    def target_of(self, index: int) -> int:
        return self._packet_target[index]

    def first_sent_ns(self, target: int) -> int:
        packets = self._packets[target]
        return self._packet_sent_ns[packets[0]] if packets else 0

    def sent(self, index: int, sent_ns: int) -> None:
        """The request for `index` left at `sent_ns`; its deadline starts now."""
        self._packet_sent_ns[index] = sent_ns
        heapq.heappush(self._deadlines, (sent_ns + self._timeout_ns[self._packet_target[index]], index))

    def send_failed(self, index: int, failure: Failure) -> None:
        target = self._packet_target[index]
        self._send_failures.setdefault(target, failure)
        self._resolve(index, _SEND_FAILED)

    # ------------------------------------------------------------ receiving

    def on_reply(self, index: int, ttl: int, received_ns: int) -> None:
        if index >= len(self._packet_state):
            return
        target = self._packet_target[index]
        if self._complete[target]:
            return
        state = self._packet_state[index]
        if state == _REPLIED:
            self._duplicates[target] += 1
        elif state == _OUTSTANDING:
            self._packet_rtt_ns[index] = max(0, received_ns - self._packet_sent_ns[index])
            self._packet_ttl[index] = ttl
            self._resolve(index, _REPLIED)

    def on_error(self, error: EchoError, from_address: str) -> bool:
        """Attribute an ICMP error to its packet; False when it is not one of ours."""
        index = self._find_packet(error)
        if index < 0:
            return False
        target = self._packet_target[index]
        if self._complete[target]:
            return True
        self._errors.setdefault(target, []).append(
            IcmpErrorReport(
                type=error.icmp_type,
                code=error.code,
                from_address=from_address,
                sequence=self._sequence_in_target(index),
                description=describe_icmp_error(self.family, error.icmp_type, error.code),
            )
        )
        if self._packet_state[index] == _OUTSTANDING:
            self._resolve(index, _ERRORED)
        return True

    def _find_packet(self, error: EchoError) -> int:
        total = len(self._packet_target)
        if 0 <= error.packet_index < total:
            candidates: range | list[int] = [error.packet_index]
        else:  # only 8 bytes quoted: every index with this sequence number
            candidates = range(error.sequence, total, 1 << 16)
        for index in candidates:
            if self.addresses[self._packet_target[index]] == error.quoted_destination:
                return index
        return -1

    def _sequence_in_target(self, index: int) -> int:
        return self._packets[self._packet_target[index]].index(index)

    def expire(self, now_ns: int) -> None:
        """Mark packets whose deadline has passed as lost."""
        deadlines = self._deadlines
        state = self._packet_state
        while deadlines and deadlines[0][0] <= now_ns:
            _, index = heapq.heappop(deadlines)
            if state[index] == _OUTSTANDING:
                self._resolve(index, _LOST)

    def _resolve(self, index: int, new_state: int) -> None:
        self._packet_state[index] = new_state
        target = self._packet_target[index]
        self._resolved[target] += 1
        if self._resolved[target] == self.options[target].count:
            self._finish(target)

    def _finish(self, target: int) -> None:
        if not self._complete[target]:
            self._complete[target] = 1
            self._open_targets -= 1
            self._completed.append(target)

    def drain_completed(self) -> list[int]:
        completed, self._completed = self._completed, []
        return completed

    # ------------------------------------------------------------ results

    def result(self, target: int) -> tuple[Outcome, Failure | None, IcmpDetails]:
        options = self.options[target]
        state, rtt_ns, ttls = self._packet_state, self._packet_rtt_ns, self._packet_ttl
        replies: list[PingReply] = []
        rtts_ms: list[float] = []
        reply_ttl = 0
        not_sent = 0
        for sequence, index in enumerate(self._packets[target]):
            packet_state = state[index]
            if packet_state == _REPLIED:
                rtt_ms = rtt_ns[index] / NS_PER_MS
                rtts_ms.append(rtt_ms)
                ttl = ttls[index] if ttls[index] > 0 else 0
                reply_ttl = reply_ttl or ttl
                replies.append(PingReply(sequence, False, rtt_ms, ttl))
            else:
                not_sent += packet_state == _SEND_FAILED
                replies.append(PingReply(sequence, True))
        errors = tuple(self._errors[target]) if target in self._errors else ()
        received = len(rtts_ms)
        details = IcmpDetails(
            self._sent[target] - not_sent,  # sent
            received,
            self._duplicates[target],
            tuple(replies),
            errors,
            min(rtts_ms) if received else 0.0,
            sum(rtts_ms) / received if received else 0.0,
            max(rtts_ms) if received else 0.0,
            _stddev(rtts_ms) if received > 1 else 0.0,
            reply_ttl,
            options.payload_bytes,
            options.interval_ms,
        )
        if rtts_ms:
            return _OK, None, details
        if errors:
            first = errors[0]
            kind = kind_for_icmp_error(self.family, first.type, first.code)
            detail = f"{first.description} from {first.from_address}"
            return _FAILURE, Failure(kind, Operation.ICMP_ECHO, detail), details
        if target in self._send_failures:
            return _FAILURE, self._send_failures[target], details
        timeout = Failure(
            failures.GENERIC_TIMEOUT, Operation.ICMP_ECHO, f"no reply within {options.timeout_ms:g} ms"
        )
        return _FAILURE, timeout, details


def _stddev(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
