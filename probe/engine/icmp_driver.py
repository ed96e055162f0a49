"""The asyncio driver of an ICMP sweep: one socket, paced sends, a reader that drains it.

All the decisions live in PingSweep (icmp_session.py) and EchoCodec (icmp_wire.py); this module
only moves bytes and reads clocks. Sends go out in bounded bursts granted by the shared Pacer;
between bursts the event loop runs the reader callback, which drains the socket completely
(recvmsg until EAGAIN) and emits the results of targets that completed.
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
from vantage.probe.engine.icmp_session import PingSweep
from vantage.probe.engine.icmp_socket import (
    SO_TIMESTAMPNS,
    TIMESPEC,
    IcmpSocket,
    ancillary_facts,
    read_error_queue,
)
from vantage.probe.engine.icmp_wire import EchoCodec, EchoReply
from vantage.probe.engine.model import IcmpOptions, MeasurementRequest, MeasurementResult, fast_builder
from vantage.probe.engine.pacing import Pacer

# recvmsg buffer: the largest ICMP error Linux sends is 576 bytes; replies echo our payload.
_RECEIVE_BYTES = 2048
_ANCILLARY_BYTES = 128
_ICMP = Protocol.ICMP  # enum attribute lookups cost ≈ 50 ns each; this runs per target
_measurement_result = fast_builder(MeasurementResult)


async def run_icmp_sweep(
    icmp_socket: IcmpSocket,
    requests: Sequence[MeasurementRequest],
    pacer: Pacer,
    emit: Callable[[list[MeasurementResult]], None],
    rng: random.Random,
) -> None:
    """Measure every request (all of `icmp_socket`'s family) and emit one result per request."""
    if not requests:
        return
    loop = asyncio.get_running_loop()
    sock = icmp_socket.sock
    family = icmp_socket.family
    targets = [(r.address, _icmp_options(r)) for r in requests]
    # One packet size per sweep: the largest any request asked for.
    payload_bytes = max(options.payload_bytes for _, options in targets)
    kernel_ident = icmp_socket.kernel_ident
    ident = kernel_ident if kernel_ident is not None else rng.getrandbits(16)
    codec = EchoCodec(family, ident, rng.getrandbits(32), payload_bytes, icmp_socket.has_ip_header)
    sweep = PingSweep(targets, family, time.time_ns())
    sockaddrs = [_sockaddr(address) for address, _ in targets]
    wakeup: asyncio.Future[None] | None = None

    started_at = _StartTimes()

    def flush_completed() -> None:
        completed = sweep.drain_completed()
        if completed:
            now_ns = time.time_ns()
            result, first_sent_ns, at = sweep.result, sweep.first_sent_ns, started_at.at
            build, family = _measurement_result, sweep.family
            emitted: list[MeasurementResult] = []
            append = emitted.append
            for target in completed:
                request = requests[target]
                outcome, failure, details = result(target)
                first_ns = first_sent_ns(target) or now_ns
                # Every field, in declaration order (fast_builder takes them positionally).
                append(
                    build(
                        request.key,
                        _ICMP,
                        request.address,
                        at(first_ns),
                        max(0, now_ns - first_ns) / 1e6,  # duration_ms
                        outcome,
                        failure,
                        details,
                        request.name,
                        0,  # port
                        "",  # url
                        request.target_id,
                        family,  # address_family
                        "",  # source_address
                    )
                )
            emit(emitted)

    def wake() -> None:
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def on_readable() -> None:
        decode, on_reply, recvmsg, clock = codec.decode, sweep.on_reply, sock.recvmsg, time.time_ns
        unpack_timespec, timestamp_cmsg = TIMESPEC.unpack_from, (socket.SOL_SOCKET, SO_TIMESTAMPNS)
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
            if type(decoded) is EchoReply:
                on_reply(
                    decoded.packet_index,
                    decoded.ttl if decoded.ttl >= 0 else cmsg_ttl,
                    received_ns or clock(),
                )
            else:
                sweep.on_error(decoded, address[0])  # type: ignore[arg-type]
        if not icmp_socket.raw:
            for queued in read_error_queue(sock):
                error = codec.error_for_request(
                    queued.request, queued.destination, queued.icmp_type, queued.code
                )
                if error is not None:
                    sweep.on_error(error, queued.offender)
        flush_completed()
        if sweep.done:
            wake()

    loop.add_reader(sock.fileno(), on_readable)
    try:
        while not sweep.done:
            now_ns = time.time_ns()
            sweep.expire(now_ns)
            granted = pacer.take(time.monotonic_ns(), 1 << 30) if _is_due(sweep, now_ns) else 0
            if granted:
                batch = sweep.pop_due(now_ns, granted)
                pacer.give_back(granted - len(batch))
                await _send_batch(loop, sock, codec, sockaddrs, sweep, batch)
            flush_completed()
            if sweep.done:
                break
            wakeup = loop.create_future()
            delay_s = _next_wake_s(sweep, pacer, time.time_ns(), time.monotonic_ns())
            handle = loop.call_later(delay_s, wake)
            await wakeup
            handle.cancel()
            wakeup = None
    finally:
        loop.remove_reader(sock.fileno())


async def _send_batch(
    loop: asyncio.AbstractEventLoop,
    sock: socket.socket,
    codec: EchoCodec,
    sockaddrs: list[tuple[str, int] | tuple[str, int, int, int]],
    sweep: PingSweep,
    batch: list[int],
) -> None:
    pack, sendto, clock, packet_target = codec.pack, sock.sendto, time.time_ns, sweep.packet_target
    sent_ns: list[int] = []
    for index in batch:
        packet = pack(index)
        sockaddr = sockaddrs[packet_target[index]]
        # The send time is taken before sendto: on loopback the reply is already queued (and
        # kernel-timestamped) when sendto returns.
        at_ns = clock()
        try:
            try:
                sendto(packet, sockaddr)
            except BlockingIOError:  # the send buffer is full: wait until it drains
                await loop.sock_sendto(sock, packet, sockaddr)
                at_ns = clock()
        except OSError as exc:
            sweep.send_failed(index, failure_from_exception(exc, Operation.ICMP_ECHO))
            at_ns = -1
        sent_ns.append(at_ns)
    sweep.sent(batch, sent_ns)


def _is_due(sweep: PingSweep, now_ns: int) -> bool:
    due = sweep.next_due_ns()
    return due is not None and due <= now_ns


def _next_wake_s(sweep: PingSweep, pacer: Pacer, now_ns: int, monotonic_now_ns: int) -> float:
    candidates: list[int] = []
    due = sweep.next_due_ns()
    if due is not None:
        token_wait = max(0, pacer.next_token_ns() - monotonic_now_ns)
        candidates.append(max(due - now_ns, token_wait))
    deadline = sweep.next_deadline_ns()
    if deadline is not None:
        candidates.append(deadline - now_ns)
    wait_ns = min(candidates, default=1_000_000)
    return max(0.0, wait_ns / 1e9)


def _icmp_options(request: MeasurementRequest) -> IcmpOptions:
    assert isinstance(request.options, IcmpOptions)
    return request.options


def _sockaddr(address: str) -> tuple[str, int] | tuple[str, int, int, int]:
    # Raw and ICMP datagram sockets ignore the port; it must still be present. The request
    # holds a validated address, so a colon means IPv6.
    return (address, 0, 0, 0) if ":" in address else (address, 0)


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
