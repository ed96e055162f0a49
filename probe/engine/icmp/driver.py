"""The asyncio driver of an ICMP sweep: one socket, paced sends, a reader that drains it.

All the decisions live in SendSchedule (engine/icmp/schedule.py), PingSweep (engine/icmp/session.py) and
EchoCodec (engine/icmp/packets.py); this module only moves bytes and reads clocks. Two ways to send:

* inline: sends go out in bounded bursts granted by the shared Pacer; between bursts the event
  loop runs the reader callback, which drains the socket (recvmsg until EAGAIN) and emits the
  results of targets that completed. One core does everything.
* forked (engine/icmp/fork.py): a child process sends, this process drains and books. For big, fast
  sweeps, where one core is the limit (docs/probe-engine.md "ICMP").
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from vantage.failures import Operation
from vantage.kinds import Protocol
from vantage.probe.engine.failure_map import failure_from_exception
from vantage.probe.engine.icmp import recvmmsg as icmp_recvmmsg
from vantage.probe.engine.icmp.fork import ForkedSweep, SenderProcess
from vantage.probe.engine.icmp.packets import RAW4_REPLY, EchoCodec, EchoReply
from vantage.probe.engine.icmp.schedule import SendSchedule
from vantage.probe.engine.icmp.session import PingSweep
from vantage.probe.engine.icmp.setup import plan_sweep
from vantage.probe.engine.icmp.sockets import (
    SO_TIMESTAMPNS,
    TIMESPEC,
    IcmpSocket,
    ancillary_facts,
    read_error_queue,
    sockaddr_address,
)
from vantage.probe.engine.model import MeasurementRequest, MeasurementResult, fast_builder
from vantage.probe.engine.pacing import Pacer
from vantage.probe.engine.sweep_requests import IcmpSweep

# How often the receiving side of a forked sweep reads the socket and the sender's reports: at
# 70k packets/s, ≈ 70 replies a read; asyncio's timers are good to about 1 ms. Polling, not
# waiting in epoll: see engine/icmp/fork.py.
POLL_INTERVAL_S = 0.001
# An inline sweep of this many packets reads its socket with recvmmsg, as a forked one does.
BATCHED_INLINE_PACKETS = 4096
# recvmsg buffer: the largest ICMP error Linux sends is 576 bytes; replies echo our payload.
_RECEIVE_BYTES = 2048
_ANCILLARY_BYTES = 128
_ICMP = Protocol.ICMP  # enum attribute lookups cost ≈ 50 ns each; this runs per target
_measurement_result = fast_builder(MeasurementResult)

Emit = Callable[[list[MeasurementResult]], None]


async def run_icmp_sweep(
    icmp_socket: IcmpSocket,
    requests: Sequence[MeasurementRequest],
    pacer: Pacer,
    emit: Emit,
    rng: random.Random,
    forked: ForkedSweep | None = None,
) -> None:
    """Measure every request (all of `icmp_socket`'s family) and emit one result per request.

    `forked`: the sweep's sender already runs in a child process (Engine.prepare started it).
    """
    if not requests:
        return
    if forked is not None:
        try:
            plan = forked.plan
            book = PingSweep(plan.addresses, plan.options, icmp_socket.family)
            drain = make_drain(icmp_socket, plan.codec, book, batched=True)
            flush = make_flush(requests, book, emit)
            await _run_with_forked_sender(forked.sender, book, drain, flush)
        finally:
            forked.sender.stop()
        return
    plan = plan_sweep(icmp_socket, requests, rng)
    book = PingSweep(plan.addresses, plan.options, icmp_socket.family)
    await _run_inline(icmp_socket, plan.codec, plan.schedule, book, pacer, requests, emit)


async def _run_inline(
    icmp_socket: IcmpSocket,
    codec: EchoCodec,
    schedule: SendSchedule,
    book: PingSweep,
    pacer: Pacer,
    requests: Sequence[MeasurementRequest],
    emit: Emit,
) -> None:
    loop = asyncio.get_running_loop()
    sock = icmp_socket.sock
    # recvmmsg pays for its buffers (half a megabyte) only in a sweep big enough to fill them.
    drain = make_drain(icmp_socket, codec, book, batched=book.packets >= BATCHED_INLINE_PACKETS)
    flush = make_flush(requests, book, emit)
    wakeup: asyncio.Future[None] | None = None

    def wake() -> None:
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def on_readable() -> None:
        drain()
        flush()
        if book.done:
            wake()

    loop.add_reader(sock.fileno(), on_readable)
    try:
        while not book.done:
            now_ns = time.time_ns()
            drain()  # every reply that came before `now_ns` is booked before anything expires
            book.expire(now_ns)
            due = schedule.next_due_ns()
            granted = pacer.take(time.monotonic_ns(), 1 << 30) if due is not None and due <= now_ns else 0
            if granted:
                batch = schedule.pop_due(now_ns, granted)
                pacer.give_back(granted - len(batch))
                await _send_batch(loop, sock, codec, book, batch)
            flush()
            if book.done:
                break
            wakeup = loop.create_future()
            delay_s = _next_wake_s(schedule, book, pacer, time.time_ns(), time.monotonic_ns())
            handle = loop.call_later(delay_s, wake)
            await wakeup
            handle.cancel()
            wakeup = None
    finally:
        loop.remove_reader(sock.fileno())


async def _send_batch(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, codec: EchoCodec, book: PingSweep, batch: list[int]
) -> None:
    pack, sendto, clock = codec.packer(), sock.sendto, time.time_ns
    addresses, targets, v6 = book.addresses, book.targets, book.family == 6
    for index in batch:
        address = addresses[index % targets]
        # Raw and ICMP datagram sockets ignore the port; it must still be present.
        sockaddr = (address, 0, 0, 0) if v6 else (address, 0)
        # The send time is taken before sendto: on loopback the reply is already queued (and
        # kernel-timestamped) when sendto returns.
        for attempt in (1, 2):
            try:
                try:
                    sendto(pack(index, clock()), sockaddr)
                except BlockingIOError:  # the send buffer is full: wait until it drains
                    await loop.sock_sendto(sock, pack(index, clock()), sockaddr)
                break
            except OSError as exc:
                # A datagram socket fails the next send with an ICMP error that came for an
                # earlier packet (the reader finds it on the error queue): try once more.
                if attempt == 2:
                    book.send_failed(index, failure_from_exception(exc, Operation.ICMP_ECHO))
    book.sent(batch, time.time_ns())


async def _run_with_forked_sender(
    sender: SenderProcess, book: PingSweep, drain: Callable[[], None], flush: Callable[[], None]
) -> None:
    """Book replies and the sender's reports until every target is complete."""
    clock = time.time_ns
    while not book.done:
        now_ns = clock()
        drain()  # every reply that came before `now_ns` is booked before anything expires
        for batch in sender.read_reports():
            book.sent(batch.indices, batch.at_ns)
            for index, number in batch.failures:
                failure = failure_from_exception(OSError(number, os.strerror(number)), Operation.ICMP_ECHO)
                book.send_failed(index, failure)
        book.expire(now_ns)
        flush()
        if book.done:
            break
        delay_s = POLL_INTERVAL_S
        if sender.reader.done:  # only stragglers and deadlines are left
            deadline = book.next_deadline_ns()
            delay_s = max(POLL_INTERVAL_S, min(0.01, ((deadline or now_ns) - clock()) / 1e9))
        await asyncio.sleep(delay_s)


def _next_wake_s(
    schedule: SendSchedule, book: PingSweep, pacer: Pacer, now_ns: int, monotonic_now_ns: int
) -> float:
    candidates: list[int] = []
    due = schedule.next_due_ns()
    if due is not None:
        token_wait = max(0, pacer.next_token_ns() - monotonic_now_ns)
        candidates.append(max(due - now_ns, token_wait))
    deadline = book.next_deadline_ns()
    if deadline is not None:
        candidates.append(deadline - now_ns)
    wait_ns = min(candidates, default=1_000_000)
    return max(0.0, wait_ns / 1e9)


def make_drain(
    icmp_socket: IcmpSocket, codec: EchoCodec, book: PingSweep, batched: bool = False
) -> Callable[[], None]:
    """A function that reads every queued reply and error into `book`, until EAGAIN.

    `batched`: many messages per system call (recvmmsg, where ctypes reaches it).
    """
    if batched and icmp_recvmmsg.available():
        return _make_batched_drain(icmp_socket, codec, book)
    sock = icmp_socket.sock
    decode, on_reply, recvmsg, clock = codec.decode, book.on_reply, sock.recvmsg, time.time_ns
    unpack_timespec, timestamp_cmsg = TIMESPEC.unpack_from, (socket.SOL_SOCKET, SO_TIMESTAMPNS)
    reply_type = EchoReply

    def drain() -> None:
        errors_in_a_row = 0
        while True:
            try:
                data, ancdata, _flags, address = recvmsg(_RECEIVE_BYTES, _ANCILLARY_BYTES)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # A pending socket error is reported once and cleared: read on. Anything that
                # keeps failing (a closed socket) must not spin here.
                errors_in_a_row += 1
                if errors_in_a_row > 8:
                    break
                continue
            errors_in_a_row = 0
            decoded = decode(data)
            if decoded is None:
                continue
            # A raw IPv4 socket's only cmsg is the receive time: read it here, skip the call.
            if len(ancdata) == 1 and ancdata[0][:2] == timestamp_cmsg and len(ancdata[0][2]) == 16:
                seconds, nanoseconds = unpack_timespec(ancdata[0][2])
                received_ns, cmsg_ttl = seconds * 1_000_000_000 + nanoseconds, -1
            else:
                received_ns, cmsg_ttl = ancillary_facts(ancdata)
            if type(decoded) is reply_type:
                index, ttl, sent_ns = decoded
                on_reply(index, ttl if ttl >= 0 else cmsg_ttl, received_ns or clock(), sent_ns)
            else:
                book.on_error(decoded, address[0])  # type: ignore[arg-type]
        if not icmp_socket.raw:
            for queued in read_error_queue(sock):
                error = codec.error_for_request(
                    queued.request, queued.destination, queued.icmp_type, queued.code
                )
                if error is not None:
                    book.on_error(error, queued.offender)

    return drain


def _make_batched_drain(icmp_socket: IcmpSocket, codec: EchoCodec, book: PingSweep) -> Callable[[], None]:
    reader = icmp_recvmmsg.MessageReader(icmp_socket.sock, (socket.SOL_SOCKET, SO_TIMESTAMPNS))
    decode, on_reply, clock, reply_type = codec.decode, book.on_reply, time.time_ns, EchoReply
    read, batch = reader.read, icmp_recvmmsg.BATCH
    match = codec.raw4_reply_match()

    def take(i: int, length: int, control_length: int) -> None:
        """One message, decoded in full: an error, or a reply the fast path below does not read."""
        data, received_ns, ancdata = reader.message(i, length, control_length)
        decoded = decode(data)
        if decoded is None:
            return
        cmsg_ttl = -1
        if ancdata:
            received_ns, cmsg_ttl = ancillary_facts(ancdata)
        if type(decoded) is reply_type:
            index, ttl, sent_ns = decoded
            on_reply(index, ttl if ttl >= 0 else cmsg_ttl, received_ns or clock(), sent_ns)
        else:
            book.on_error(decoded, sockaddr_address(reader.sender(i)))  # type: ignore[arg-type]

    def read_batch(count: int) -> None:
        if match is None:
            for i, (_name_length, control_length, _flags, length) in enumerate(reader.headers(count)):
                take(i, length, control_length)
            return
        # A raw IPv4 socket: our replies' fields unpacked for the whole batch in C and booked in
        # one call (≈ 2 µs a reply less than decoding each); anything else is decoded in full,
        # after the replies before it are booked, so that the order stays the kernel's.
        header_and_type, ident, tag = (match[0], match[1]), match[2], match[3]
        timestamp_kind, minimum = (socket.SOL_SOCKET, SO_TIMESTAMPNS), RAW4_REPLY.size
        one_timestamp = icmp_recvmmsg.ONE_TIMESTAMP_BYTES
        replies: list[tuple[int, int, int, int]] = []
        append = replies.append
        for i, (fields, (_n, control_length, _f, length), (_c, level, kind, seconds, nanos)) in enumerate(
            reader.leading_fields(count, RAW4_REPLY)
        ):
            version_ihl, ttl, icmp_type, reply_ident, sequence, reply_tag, index, sent_ns = fields
            if (
                (version_ihl, icmp_type) == header_and_type
                and reply_ident == ident
                and reply_tag == tag
                and index & 0xFFFF == sequence
                and length >= minimum
                and control_length == one_timestamp
                and (level, kind) == timestamp_kind
            ):
                append((index, ttl, seconds * 1_000_000_000 + nanos or clock(), sent_ns))
                continue
            if replies:
                book.on_replies(replies)
                replies.clear()
            take(i, length, control_length)
        if replies:
            book.on_replies(replies)

    def drain() -> None:
        errors_in_a_row = 0
        while True:
            count = read()
            if count < 0:  # as in the unbatched drain: read on past a reported error, not forever
                errors_in_a_row += 1
                if errors_in_a_row > 8:
                    break
                continue
            read_batch(count)
            if count < batch:
                break
        if not icmp_socket.raw:
            for queued in read_error_queue(icmp_socket.sock):
                error = codec.error_for_request(
                    queued.request, queued.destination, queued.icmp_type, queued.code
                )
                if error is not None:
                    book.on_error(error, queued.offender)

    return drain


def make_flush(requests: Sequence[MeasurementRequest], book: PingSweep, emit: Emit) -> Callable[[], None]:
    """A function that builds the results of the targets completed since its last call and emits them."""
    started_at = _StartTimes()
    family, addresses = book.family, book.addresses
    # An IcmpSweep's keys are numbers and it has no names: no request is built for a result.
    numbered = isinstance(requests, IcmpSweep)
    first_key = requests.first_key if isinstance(requests, IcmpSweep) else 0

    def flush() -> None:
        completed = book.drain_completed()
        if not completed:
            return
        now_ns = time.time_ns()
        first_sent_ns, at, build = book.first_sent_ns, started_at.at, _measurement_result
        emitted: list[MeasurementResult] = []
        append = emitted.append
        # Results of the whole batch at once (PingSweep.results: a sweep of one echo per target
        # builds them in one loop), then one MeasurementResult each, every field in
        # declaration order (fast_builder takes them positionally).
        for target, (outcome, failure, details) in zip(completed, book.results(completed), strict=True):
            if numbered:
                key, name, target_id = str(first_key + target), "", ""
            else:
                request = requests[target]
                key, name, target_id = request.key, request.name, request.target_id
            first_ns = first_sent_ns(target) or now_ns
            elapsed_ns = now_ns - first_ns
            append(
                build(
                    key,
                    _ICMP,
                    addresses[target],
                    at(first_ns),
                    (elapsed_ns if elapsed_ns > 0 else 0) / 1e6,  # duration_ms
                    outcome,
                    failure,
                    details,
                    name,
                    0,  # port
                    "",  # url
                    target_id,
                    family,  # address_family
                    "",  # source_address
                    None,  # probe_load: a sweep's times are the kernel's own timestamps
                )
            )
        emit(emitted)

    return flush


class _StartTimes:
    """started_at datetimes, to the millisecond, built once per millisecond.

    datetime.fromtimestamp with a time zone costs more than the rest of a target's result; a
    sweep starts tens of targets per millisecond, and a start time to the millisecond is finer
    than any use of it (RIPE Atlas records seconds).
    """

    def __init__(self) -> None:
        self._millisecond = -1
        self._datetime = datetime.fromtimestamp(0, tz=UTC)

    def at(self, ns: int) -> datetime:
        millisecond = ns // 1_000_000
        if millisecond != self._millisecond:
            self._millisecond = millisecond
            self._datetime = datetime.fromtimestamp(millisecond / 1000, tz=UTC)
        return self._datetime
