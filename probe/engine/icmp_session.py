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

import math
from collections.abc import Sequence

from vantage import failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome
from vantage.probe.engine.failure_map import kind_for_icmp_error
from vantage.probe.engine.icmp_wire import EchoError, describe_icmp_error
from vantage.probe.engine.lanes import Lanes
from vantage.probe.engine.model import IcmpDetails, IcmpErrorReport, IcmpOptions, PingReply, fast_builder

_OUTSTANDING, _REPLIED, _ERRORED, _LOST, _SEND_FAILED = 0, 1, 2, 3, 4
_OK, _FAILURE = Outcome.OK, Outcome.FAILURE  # looked up once: result() runs per target
_ping_reply = fast_builder(PingReply)
_icmp_details = fast_builder(IcmpDetails)
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
        # Per packet, indexed by the run-wide packet index (packet_target is read by the driver).
        self.packet_target: list[int] = []
        self._packet_sent_ns: list[int] = []
        self._packet_state = bytearray()
        self._packet_rtt_ns: list[int] = []
        self._packet_ttl: list[int] = []
        # Next packet due per target (lane: interval) and deadline per packet (lane: timeout).
        self._due = Lanes()
        self._due.extend(-1, ((start_ns, i) for i in range(count)))
        self._deadlines = Lanes()
        for i, options in enumerate(self.options):
            if options.count <= 0:
                self._finish(i)

    # ------------------------------------------------------------ sending

    @property
    def done(self) -> bool:
        return self._open_targets == 0

    def next_due_ns(self) -> int | None:
        return self._due.head_ns()

    def next_deadline_ns(self) -> int | None:
        return self._deadlines.head_ns()

    def pop_due(self, now_ns: int, limit: int) -> list[int]:
        """Allocate up to `limit` packets due at `now_ns` and return their indices."""
        targets = self._due.pop_until(now_ns, limit)
        packet_target, packets, sent = self.packet_target, self._packets, self._sent
        options, interval_ns, due = self.options, self._interval_ns, self._due
        index = len(packet_target)
        allocated = list(range(index, index + len(targets)))
        packet_target.extend(targets)
        for target in targets:
            packets[target].append(index)
            index += 1
            count = sent[target] + 1
            sent[target] = count
            if count < options[target].count:
                due.push(interval_ns[target], now_ns + interval_ns[target], target)
        count = len(allocated)
        if count:
            self._packet_sent_ns.extend([now_ns] * count)
            self._packet_state.extend(bytes(count))  # _OUTSTANDING
            self._packet_rtt_ns.extend([0] * count)
            self._packet_ttl.extend([0] * count)
        return allocated

    def first_sent_ns(self, target: int) -> int:
        packets = self._packets[target]
        return self._packet_sent_ns[packets[0]] if packets else 0

    def sent(self, indices: list[int], sent_ns: list[int]) -> None:
        """The requests for `indices` left at `sent_ns` (-1: the send failed); deadlines start."""
        deadlines, timeout_ns, packet_target = self._deadlines, self._timeout_ns, self.packet_target
        sent_at, push = self._packet_sent_ns, deadlines.push
        for index, at_ns in zip(indices, sent_ns, strict=True):
            if at_ns >= 0:
                sent_at[index] = at_ns
                timeout = timeout_ns[packet_target[index]]
                push(timeout, at_ns + timeout, index)

    def send_failed(self, index: int, failure: Failure) -> None:
        target = self.packet_target[index]
        self._send_failures.setdefault(target, failure)
        self._resolve(index, _SEND_FAILED)

    # ------------------------------------------------------------ receiving

    def on_reply(self, index: int, ttl: int, received_ns: int) -> None:
        state = self._packet_state
        if index >= len(state):
            return
        target = self.packet_target[index]
        if self._complete[target]:
            return
        packet_state = state[index]
        if packet_state == _REPLIED:
            self._duplicates[target] += 1
        elif packet_state == _OUTSTANDING:
            rtt_ns = received_ns - self._packet_sent_ns[index]
            self._packet_rtt_ns[index] = rtt_ns if rtt_ns > 0 else 0
            self._packet_ttl[index] = ttl
            self._resolve(index, _REPLIED)

    def on_error(self, error: EchoError, from_address: str) -> bool:
        """Attribute an ICMP error to its packet; False when it is not one of ours."""
        index = self._find_packet(error)
        if index < 0:
            return False
        target = self.packet_target[index]
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
        total = len(self.packet_target)
        if 0 <= error.packet_index < total:
            candidates: range | list[int] = [error.packet_index]
        else:  # only 8 bytes quoted: every index with this sequence number
            candidates = range(error.sequence, total, 1 << 16)
        for index in candidates:
            if self.addresses[self.packet_target[index]] == error.quoted_destination:
                return index
        return -1

    def _sequence_in_target(self, index: int) -> int:
        return self._packets[self.packet_target[index]].index(index)

    def expire(self, now_ns: int) -> None:
        """Mark packets whose deadline has passed as lost."""
        state = self._packet_state
        for index in self._deadlines.pop_until(now_ns, 1 << 62):
            if state[index] == _OUTSTANDING:
                self._resolve(index, _LOST)

    def _resolve(self, index: int, new_state: int) -> None:
        self._packet_state[index] = new_state
        target = self.packet_target[index]
        resolved = self._resolved[target] + 1
        self._resolved[target] = resolved
        if resolved == self.options[target].count and not self._complete[target]:
            self._complete[target] = 1
            self._open_targets -= 1
            self._completed.append(target)

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
        packets = self._packets[target]
        if len(packets) == 1 and state[packets[0]] == _REPLIED:  # a sweep's common case, short
            index = packets[0]
            rtt_ms = rtt_ns[index] / NS_PER_MS
            ttl = ttls[index] if ttls[index] > 0 else 0
            errors = tuple(self._errors[target]) if target in self._errors else ()
            reply = _ping_reply(0, False, rtt_ms, ttl, False)
            details = _icmp_details(
                1, 1, self._duplicates[target], (reply,), errors, rtt_ms, rtt_ms, rtt_ms, 0.0, ttl,
                options.payload_bytes, options.interval_ms,
            )  # fmt: skip
            return _OK, None, details
        replies: list[PingReply] = []
        rtts_ms: list[float] = []
        reply_ttl = 0
        not_sent = 0
        for sequence, index in enumerate(packets):
            packet_state = state[index]
            if packet_state == _REPLIED:
                rtt_ms = rtt_ns[index] / NS_PER_MS
                rtts_ms.append(rtt_ms)
                ttl = ttls[index] if ttls[index] > 0 else 0
                reply_ttl = reply_ttl or ttl
                replies.append(_ping_reply(sequence, False, rtt_ms, ttl, False))
            else:
                not_sent += packet_state == _SEND_FAILED
                replies.append(_ping_reply(sequence, True, 0.0, 0, False))
        errors = tuple(self._errors[target]) if target in self._errors else ()
        received = len(rtts_ms)
        details = _icmp_details(
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
