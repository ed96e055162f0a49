"""The asyncio driver of an ICMP sweep: one socket, paced sends, a reader that drains it.

All the decisions live in SendSchedule (icmp_schedule.py), PingSweep (icmp_session.py) and
EchoCodec (icmp_wire.py); this module only moves bytes and reads clocks. Two ways to send:

* inline: sends go out in bounded bursts granted by the shared Pacer; between bursts the event
  loop runs the reader callback, which drains the socket (recvmsg until EAGAIN) and emits the
  results of targets that completed. One core does everything.
* forked (icmp_fork.py): a child process sends, this process drains and books. For big, fast
  sweeps, where one core is the limit (docs/probe-engine.md "ICMP").
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from vantage.failures import Operation
from vantage.kinds import Protocol
from vantage.probe.engine.failure_map import failure_from_exception
from vantage.probe.engine.icmp_schedule import SendSchedule
from vantage.probe.engine.icmp_session import NS_PER_MS, PingSweep, distinct_options
from vantage.probe.engine.icmp_socket import (
    FORKED_RECEIVE_BUFFER_BYTES,
    SO_TIMESTAMPNS,
    TIMESPEC,
    IcmpSocket,
    ancillary_facts,
    read_error_queue,
    set_receive_buffer,
)
from vantage.probe.engine.icmp_wire import EchoCodec, EchoReply
from vantage.probe.engine.model import IcmpOptions, MeasurementRequest, MeasurementResult, fast_builder
from vantage.probe.engine.pacing import Pacer
from vantage.probe.engine.sweep_requests import IcmpSweep

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
    forked: bool = False,
) -> None:
    """Measure every request (all of `icmp_socket`'s family) and emit one result per request.

    `forked`: send from a child process (the caller checks that nothing else shares `pacer`).
    """
    if not requests:
        return
    if isinstance(requests, IcmpSweep):  # addresses and options as they are: no request is built
        addresses, options = requests.addresses, [requests.options] * len(requests)
    else:
        addresses = [r.address for r in requests]
        options = [_icmp_options(r) for r in requests]
    distinct = distinct_options(options)
    # One packet size per sweep: the largest any request asked for.
    payload_bytes = max(o.payload_bytes for o in distinct)
    kernel_ident = icmp_socket.kernel_ident
    ident = kernel_ident if kernel_ident is not None else rng.getrandbits(16)
    nonce = rng.getrandbits(32)
    codec = EchoCodec(icmp_socket.family, ident, nonce, payload_bytes, icmp_socket.has_ip_header)
    if len(distinct) == 1:  # one count and interval for all
        counts, intervals_ns = [distinct[0].count] * len(options), [int(distinct[0].interval_ms * NS_PER_MS)]
        intervals_ns *= len(options)
    else:
        counts, intervals_ns = [o.count for o in options], [int(o.interval_ms * NS_PER_MS) for o in options]
    schedule = SendSchedule(counts, intervals_ns, time.time_ns())
    if forked:
        # Imported here: the daemon's small sweeps never fork.
        from vantage.probe.engine.icmp_fork import run_with_forked_sender, start_sender

        set_receive_buffer(icmp_socket.sock, FORKED_RECEIVE_BUFFER_BYTES)
        # Fork first: the child sends while this process builds its book.
        sender = start_sender(icmp_socket, codec, addresses, schedule, pacer)
        try:
            book = PingSweep(addresses, options, icmp_socket.family)
            drain = make_drain(icmp_socket, codec, book)
            flush = make_flush(requests, book, emit)
            await run_with_forked_sender(sender, book, drain, flush)
        finally:
            sender.stop()
        return
    book = PingSweep(addresses, options, icmp_socket.family)
    await _run_inline(icmp_socket, codec, schedule, book, pacer, requests, emit)


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
    drain = make_drain(icmp_socket, codec, book)
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
    pack, sendto, clock = codec.pack, sock.sendto, time.time_ns
    addresses, targets, v6 = book.addresses, book.targets, book.family == 6
    for index in batch:
        address = addresses[index % targets]
        # Raw and ICMP datagram sockets ignore the port; it must still be present.
        sockaddr = (address, 0, 0, 0) if v6 else (address, 0)
        # The send time is taken before sendto: on loopback the reply is already queued (and
        # kernel-timestamped) when sendto returns.
        packet = pack(index, clock())
        try:
            try:
                sendto(packet, sockaddr)
            except BlockingIOError:  # the send buffer is full: wait until it drains
                packet = pack(index, clock())
                await loop.sock_sendto(sock, packet, sockaddr)
        except OSError as exc:
            book.send_failed(index, failure_from_exception(exc, Operation.ICMP_ECHO))
    book.sent(batch, time.time_ns())


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


def make_drain(icmp_socket: IcmpSocket, codec: EchoCodec, book: PingSweep) -> Callable[[], None]:
    """A function that reads every queued reply and error into `book`, until EAGAIN."""
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
        result, first_sent_ns, at, build = book.result, book.first_sent_ns, started_at.at, _measurement_result
        emitted: list[MeasurementResult] = []
        append = emitted.append
        for target in completed:
            if numbered:
                key, name, target_id = str(first_key + target), "", ""
            else:
                request = requests[target]
                key, name, target_id = request.key, request.name, request.target_id
            outcome, failure, details = result(target)
            first_ns = first_sent_ns(target) or now_ns
            # Every field, in declaration order (fast_builder takes them positionally).
            append(
                build(
                    key,
                    _ICMP,
                    addresses[target],
                    at(first_ns),
                    max(0, now_ns - first_ns) / 1e6,  # duration_ms
                    outcome,
                    failure,
                    details,
                    name,
                    0,  # port
                    "",  # url
                    target_id,
                    family,  # address_family
                    "",  # source_address
                )
            )
        emit(emitted)

    return flush


def _icmp_options(request: MeasurementRequest) -> IcmpOptions:
    assert isinstance(request.options, IcmpOptions)
    return request.options


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
