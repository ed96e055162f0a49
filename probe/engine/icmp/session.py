"""Book-keeping of one ICMP sweep: what came back, what was lost, the per-target result (pure).

Theory of operation. Target t owes `count` echo requests; its k-th is packet `k * targets + t`
(engine/icmp/schedule.py), so a reply or an ICMP error leads straight back to its packet and target
by arithmetic. Whoever sends reports each batch with `sent(indices, at_ns)`, where `at_ns` is
no earlier than any send in the batch; the packets' deadlines (at_ns + timeout) start then.
Replies carry their own send time (engine/icmp/packets.py), so the RTT needs no record of the send, and
a reply may even be booked before its batch is reported (a forked sender reports after the
batch; the kernel answers within microseconds). A packet is resolved by its first reply, an
ICMP error, a failed send, or its deadline passing; a target is complete when all its packets
are resolved, and the driver then emits its result. Later replies for a resolved packet count
as duplicates while the target is still open. All times are integers in ns of one wall clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from vantage import failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome
from vantage.probe.engine.failure_map import kind_for_icmp_error
from vantage.probe.engine.icmp.packets import EchoError, describe_icmp_error
from vantage.probe.engine.lanes import Lanes
from vantage.probe.engine.model import (
    NS_PER_MS,
    IcmpDetails,
    IcmpErrorReport,
    IcmpOptions,
    PingReply,
    distinct_options,
    fast_builder,
)

_OUTSTANDING, _REPLIED, _ERRORED, _LOST, _SEND_FAILED = 0, 1, 2, 3, 4
_OK, _FAILURE = Outcome.OK, Outcome.FAILURE  # looked up once: result() runs per target
_ping_reply = fast_builder(PingReply)
_icmp_details = fast_builder(IcmpDetails)


class PingSweep:
    def __init__(self, addresses: Sequence[str], options: Sequence[IcmpOptions], family: int) -> None:
        self.family = family
        self.addresses = addresses
        self.options = options
        count = self.targets = len(addresses)
        distinct = distinct_options(options)
        self._uniform = len(distinct) == 1  # the common case: one count and timeout for all
        self._count = options[0].count if self._uniform else 0
        self._timeout_ns = [int(options[0].timeout_ms * NS_PER_MS)] if self._uniform else []
        self.packets = count * max((o.count for o in distinct), default=0)
        self._resolved = [0] * count
        self._duplicates = [0] * count
        self._first_sent_ns = [0] * count
        self._errors: dict[int, list[IcmpErrorReport]] = {}
        self._send_failures: dict[int, Failure] = {}
        self._complete = bytearray(count)
        self._open_targets = count
        self._completed: list[int] = []
        # Per packet, by index.
        self._packet_state = bytearray(self.packets)
        self._packet_rtt_ns = [0] * self.packets
        self._packet_ttl = [0] * self.packets
        # Batches of sent packets waiting for their deadline (lane: timeout).
        self._deadlines = Lanes()
        self._batches: dict[int, list[int]] = {}
        self._next_batch = 0

    @property
    def done(self) -> bool:
        return self._open_targets == 0

    def next_deadline_ns(self) -> int | None:
        return self._deadlines.head_ns()

    def first_sent_ns(self, target: int) -> int:
        return self._first_sent_ns[target]

    def _count_of(self, target: int) -> int:
        return self._count or self.options[target].count

    # ------------------------------------------------------------ sending

    def sent(self, indices: Sequence[int], at_ns: int) -> None:
        """The requests for `indices` left no later than `at_ns`; their deadlines start."""
        targets, first_sent = self.targets, self._first_sent_ns
        for index in indices:
            if index < targets and not first_sent[index]:  # sequence 0: the target's start
                first_sent[index] = at_ns
        if self._uniform:
            self._push_batch(self._timeout_ns[0], at_ns, list(indices))
            return
        by_timeout: dict[int, list[int]] = {}
        for index in indices:
            timeout_ms = self.options[index % targets].timeout_ms
            by_timeout.setdefault(int(timeout_ms * NS_PER_MS), []).append(index)
        for timeout_ns, batch in by_timeout.items():
            self._push_batch(timeout_ns, at_ns, batch)

    def _push_batch(self, timeout_ns: int, at_ns: int, batch: list[int]) -> None:
        self._batches[self._next_batch] = batch
        self._deadlines.push(timeout_ns, at_ns + timeout_ns, self._next_batch)
        self._next_batch += 1

    def send_failed(self, index: int, failure: Failure) -> None:
        if not 0 <= index < self.packets:
            return
        self._send_failures.setdefault(index % self.targets, failure)
        if self._packet_state[index] == _OUTSTANDING:
            self._resolve(index, _SEND_FAILED)

    # ------------------------------------------------------------ receiving

    def on_reply(self, index: int, ttl: int, received_ns: int, sent_ns: int) -> None:
        """A reply to packet `index` (which carried `sent_ns`), received at `received_ns`."""
        if index >= self.packets:
            return
        target = index % self.targets
        if self._complete[target] or index // self.targets >= self._count_of(target):
            return
        packet_state = self._packet_state[index]
        if packet_state == _REPLIED:
            self._duplicates[target] += 1
        elif packet_state == _OUTSTANDING:
            rtt_ns = received_ns - sent_ns
            self._packet_rtt_ns[index] = rtt_ns if rtt_ns > 0 else 0
            self._packet_ttl[index] = ttl
            if index == target:  # the reply's own send time beats its batch's report
                self._first_sent_ns[target] = sent_ns
            self._resolve(index, _REPLIED)

    def on_replies(self, replies: Sequence[tuple[int, int, int, int]]) -> None:
        """on_reply(index, ttl, received_ns, sent_ns) for each, in order.

        A sweep of one echo per target (the common big sweep) books them in one loop here: a
        target there is open only while its one packet is outstanding, so a reply either
        completes it or is ignored, exactly as on_reply decides.
        """
        if not (self._uniform and self._count == 1):
            on_reply = self.on_reply
            for index, ttl, received_ns, sent_ns in replies:
                on_reply(index, ttl, received_ns, sent_ns)
            return
        targets, complete, state = self.targets, self._complete, self._packet_state
        rtts, ttls, first_sent, resolved = (
            self._packet_rtt_ns,
            self._packet_ttl,
            self._first_sent_ns,
            self._resolved,
        )
        completed = self._completed.append
        booked = 0
        for index, ttl, received_ns, sent_ns in replies:
            if index >= targets or complete[index]:
                continue
            rtt_ns = received_ns - sent_ns
            rtts[index] = rtt_ns if rtt_ns > 0 else 0
            ttls[index] = ttl
            first_sent[index] = sent_ns  # packet `index` is the target's first (and only)
            state[index] = _REPLIED
            resolved[index] = 1
            complete[index] = 1
            booked += 1
            completed(index)
        self._open_targets -= booked

    def on_error(self, error: EchoError, from_address: str) -> bool:
        """Attribute an ICMP error to its packet; False when it is not one of ours."""
        index = self._find_packet(error)
        if index < 0:
            return False
        target = index % self.targets
        if self._complete[target]:
            return True
        self._errors.setdefault(target, []).append(
            IcmpErrorReport(
                type=error.icmp_type,
                code=error.code,
                from_address=from_address,
                sequence=index // self.targets,
                description=describe_icmp_error(self.family, error.icmp_type, error.code),
            )
        )
        if self._packet_state[index] == _OUTSTANDING:
            self._resolve(index, _ERRORED)
        return True

    def _find_packet(self, error: EchoError) -> int:
        if 0 <= error.packet_index < self.packets:
            candidates: range | list[int] = [error.packet_index]
        else:  # only 8 bytes quoted: every index with this sequence number
            candidates = range(error.sequence, self.packets, 1 << 16)
        for index in candidates:
            target = index % self.targets
            if index // self.targets < self._count_of(target) and self.addresses[target] == (
                error.quoted_destination
            ):
                return index
        return -1

    def expire(self, now_ns: int) -> None:
        """Mark packets whose deadline has passed as lost."""
        state, batches = self._packet_state, self._batches
        for batch in self._deadlines.pop_until(now_ns, 1 << 62):
            for index in batches.pop(batch):
                if state[index] == _OUTSTANDING:
                    self._resolve(index, _LOST)

    def _resolve(self, index: int, new_state: int) -> None:
        self._packet_state[index] = new_state
        target = index % self.targets
        resolved = self._resolved[target] + 1
        self._resolved[target] = resolved
        if resolved == self._count_of(target) and not self._complete[target]:
            self._complete[target] = 1
            self._open_targets -= 1
            self._completed.append(target)

    def drain_completed(self) -> list[int]:
        completed, self._completed = self._completed, []
        return completed

    # ------------------------------------------------------------ results

    def results(self, targets: Sequence[int]) -> list[tuple[Outcome, Failure | None, IcmpDetails]]:
        """[result(t) for t in targets]; a sweep of one echo per target builds its answered
        targets' results in one loop here (a flush's batch: hundreds), the rest through result()."""
        if not (self._uniform and self._count == 1):
            return [self.result(target) for target in targets]
        options = self.options[0]  # uniform: every target's options are equal
        payload_bytes, interval_ms = options.payload_bytes, options.interval_ms
        state, rtt_ns, ttls, duplicates, errors = (
            self._packet_state,
            self._packet_rtt_ns,
            self._packet_ttl,
            self._duplicates,
            self._errors,
        )
        ping_reply, icmp_details, result = _ping_reply, _icmp_details, self.result
        built: list[tuple[Outcome, Failure | None, IcmpDetails]] = []
        append = built.append
        for target in targets:
            if state[target] != _REPLIED:
                append(result(target))
                continue
            # result()'s short case, as it writes it (packet index = target).
            rtt_ms = rtt_ns[target] / NS_PER_MS
            ttl = ttls[target] if ttls[target] > 0 else 0
            reply = ping_reply(0, False, rtt_ms, ttl, False)
            details = icmp_details(
                1, 1, duplicates[target], (reply,), tuple(errors[target]) if target in errors else (),
                rtt_ms, rtt_ms, rtt_ms, 0.0, ttl, payload_bytes, interval_ms,
            )  # fmt: skip
            append((_OK, None, details))
        return built

    def result(self, target: int) -> tuple[Outcome, Failure | None, IcmpDetails]:
        options = self.options[target]
        state, rtt_ns, ttls = self._packet_state, self._packet_rtt_ns, self._packet_ttl
        if options.count == 1 and state[target] == _REPLIED:  # a sweep's common case, short
            index = target
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
        packets = range(target, target + options.count * self.targets, self.targets)
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
            options.count - not_sent,  # sent
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
