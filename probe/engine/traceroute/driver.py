"""The asyncio driver of one traceroute: raw sockets, the clock, the rate cap (I/O edge).

Sockets (root or CAP_NET_RAW): a raw ICMP (ICMPv6) socket that reads every ICMP message (time
exceeded, unreachable, echo replies) and sends ICMP probes; for UDP and TCP probes a raw
socket of that protocol sends them (the kernel writes the IP header, with the TTL or hop
limit set by IP_TTL / IPV6_UNICAST_HOPS before each probe), and for TCP it also reads the
target's SYN-ACK or RST. IPv6 answers come without their IP header: the sender is recvmsg's
address and the hop limit its IPV6_HOPLIMIT message. The source
address the kernel will use is found by connecting a UDP socket (no packet is sent), because
the UDP and TCP checksums cover it. Receive times are the kernel's (SO_TIMESTAMPNS), send
times the wall clock just after sendto, the same clock.

Every probe takes a token from the run's global rate cap (DriverContext.pacer), beyond the
one the engine takes to start the measurement, and the target address goes through the
caller's address guard; answers come from routers but nothing is ever sent to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from datetime import UTC, datetime

from vantage import failures as f
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome, Protocol
from vantage.probe.engine.context import DriverContext
from vantage.probe.engine.failure_map import kind_for_icmp_error
from vantage.probe.engine.icmp.sockets import (
    ICMP6_FILTER,
    SO_TIMESTAMPNS,
    ancillary_facts,
    icmp6_filter_passing,
    set_receive_buffer,
)
from vantage.probe.engine.model import (
    MeasurementRequest,
    MeasurementResult,
    TracerouteDetails,
    TracerouteOptions,
)
from vantage.probe.engine.pacing import Pacer
from vantage.probe.engine.traceroute.packets import ICMP6, TraceCodec, icmp_numbers
from vantage.probe.engine.traceroute.step import COMPLETED, UNREACHABLE, TraceSession, last_responding_hop

_RECEIVE_BUFFER_BYTES = 1 << 20


class TracerouteUnavailable(Exception):
    """No raw socket (traceroute needs root or CAP_NET_RAW)."""


def _af(family: int) -> int:
    return socket.AF_INET6 if family == 6 else socket.AF_INET


def source_address_for(destination: str) -> str:
    """The address the kernel sends from towards `destination` (a UDP connect sends nothing)."""
    with socket.socket(_af(6 if ":" in destination else 4), socket.SOCK_DGRAM) as probe:
        probe.connect((destination, 9))
        return str(probe.getsockname()[0])


def _raw_socket(family: int, protocol: int) -> socket.socket:
    try:
        sock = socket.socket(_af(family), socket.SOCK_RAW, protocol)
    except PermissionError as exc:
        raise TracerouteUnavailable(
            f"traceroute needs a raw socket ({exc.strerror}): run as root or give the program "
            "CAP_NET_RAW (e.g. `setcap cap_net_raw+ep` on the Python binary)"
        ) from None
    sock.setblocking(False)
    set_receive_buffer(sock, _RECEIVE_BUFFER_BYTES)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    if family == 6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
        if protocol == socket.IPPROTO_ICMPV6:
            sock.setsockopt(
                socket.IPPROTO_ICMPV6, ICMP6_FILTER, icmp6_filter_passing(set(ICMP6.quoting) | {129})
            )
    return sock


async def measure(request: MeasurementRequest, context: DriverContext) -> MeasurementResult:
    """One trace (vantage/protocols.py names this module as TRACEROUTE's driver)."""
    options = request.options
    assert isinstance(options, TracerouteOptions)
    started_at = datetime.now(UTC)
    start = time.perf_counter()

    def result(
        outcome: Outcome, failure: Failure | None, details: TracerouteDetails | None, source: str = ""
    ) -> MeasurementResult:
        return MeasurementResult(
            key=request.key,
            protocol=Protocol.TRACEROUTE,
            address=request.address,
            started_at=started_at,
            duration_ms=(time.perf_counter() - start) * 1000,
            outcome=outcome,
            failure=failure,
            details=details,
            name=request.name,
            port=options.destination_port,
            target_id=request.target_id,
            address_family=6 if ":" in request.address else 4,
            source_address=source,
        )

    if context.address_guard is not None and (why := context.address_guard(request.address)):
        return result(Outcome.REFUSED_BY_POLICY, Failure(f.REFUSED_BY_POLICY, Operation.POLICY, why), None)
    try:
        source = source_address_for(request.address)
    except OSError as exc:
        detail = f"no route to {request.address}: {exc.strerror or exc}"
        return result(Outcome.FAILURE, Failure(f.NETWORK_UNREACHABLE, Operation.TRACE, detail), None)
    rng = context.rng
    flow_id = rng.randrange(33_000, 61_000) if options.method != "icmp" else rng.getrandbits(16)
    codec = TraceCodec(
        options.method, source, request.address, flow_id, options.destination_port, rng.getrandbits(32)
    )
    session = TraceSession(options, request.address)
    pacer = context.pacer or Pacer(1e9, time.monotonic_ns())
    try:
        await _trace(session, codec, pacer)
    except TracerouteUnavailable as exc:
        return result(Outcome.FAILURE, Failure(f.UNKNOWN_FAILURE, Operation.TRACE, str(exc)), None, source)
    details = session.details(packet_size=codec.packet_bytes, flow_id=codec.flow_id)
    if details.destination_reached:
        return result(Outcome.OK, None, details, source)
    return result(Outcome.FAILURE, trace_failure(details, session.stop_reason, codec.family), details, source)


def trace_failure(details: TracerouteDetails, stop_reason: str, family: int = 4) -> Failure:
    """Why a trace that did not reach its destination stopped, in the failure vocabulary."""
    last = last_responding_hop(details)
    where = f"last answer from {last.addresses[-1]} at hop {last.ttl}" if last else "no hop answered"
    if stop_reason == UNREACHABLE and last is not None:
        unreachable = icmp_numbers(family).unreachable
        reply = next(r for r in last.replies if not r.lost and r.icmp_type == unreachable)
        kind = kind_for_icmp_error(family, reply.icmp_type, reply.icmp_code)
        return Failure(kind, Operation.TRACE, f"{reply.from_address} answered unreachable at hop {last.ttl}")
    if stop_reason == "loop":
        return Failure(f.TTL_EXCEEDED, Operation.TRACE, f"routing loop; {where}")
    return Failure(f.GENERIC_TIMEOUT, Operation.TRACE, f"{stop_reason}: destination not reached; {where}")


async def _trace(session: TraceSession, codec: TraceCodec, pacer: Pacer) -> None:
    loop = asyncio.get_running_loop()
    family = codec.family
    icmp = _raw_socket(family, socket.IPPROTO_ICMPV6 if family == 6 else socket.IPPROTO_ICMP)
    sockets = [icmp]
    try:
        if codec.method == "icmp":
            sender = icmp
        else:
            sender = _raw_socket(family, socket.IPPROTO_UDP if codec.method == "udp" else socket.IPPROTO_TCP)
            sockets.append(sender)
        hops_option = (
            (socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS)
            if family == 6
            else (socket.IPPROTO_IP, socket.IP_TTL)
        )
        woken = asyncio.Event()

        def drain(sock: socket.socket, tcp: bool) -> None:
            for _ in range(256):
                try:
                    data, ancdata, _flags, address = sock.recvmsg(4096, 256)
                except (BlockingIOError, InterruptedError):
                    break
                received_ns, hop_limit = ancillary_facts(ancdata)
                sender_address = str(address[0]) if address else ""
                if tcp:
                    answer = codec.decode_tcp(data, sender_address, hop_limit)
                else:
                    answer = codec.decode_icmp(data, sender_address, hop_limit)
                if answer is not None:
                    session.answer(answer, received_ns or time.time_ns())
            woken.set()

        loop.add_reader(icmp.fileno(), drain, icmp, False)
        if codec.method == "tcp":
            loop.add_reader(sender.fileno(), drain, sender, True)
        destination = (codec.destination, 0)
        current_ttl = -1
        while not session.done:
            now_ns = time.time_ns()
            session.expire(now_ns)
            granted = pacer.take(time.monotonic_ns(), session.options.probes_in_flight)
            due = session.next_probes(now_ns, granted)
            pacer.give_back(granted - len(due))
            for number, ttl in due:
                if ttl != current_ttl:
                    sender.setsockopt(*hops_option, ttl)
                    current_ttl = ttl
                packet = codec.pack(number)
                # Stamped before sendto, as ping(8) does: on a veth the answer can be received
                # (and kernel-timestamped) inside the sendto call itself.
                sent_ns = time.time_ns()
                with contextlib.suppress(OSError):  # no route, a full buffer: lost like any other
                    sender.sendto(packet, destination)
                session.sent(number, sent_ns)
            if session.done:
                break
            waits = [session.next_deadline_ns()]
            if len(session.probes) < session.total_probes and not due:
                waits.append(time.time_ns() + max(0, pacer.next_token_ns() - time.monotonic_ns()))
            wake_ns = min((w for w in waits if w is not None), default=time.time_ns() + 1_000_000)
            woken.clear()
            try:
                async with asyncio.timeout(max(0, wake_ns - time.time_ns()) / 1e9):
                    await woken.wait()
            except TimeoutError:
                pass
    finally:
        for sock in sockets:
            loop.remove_reader(sock.fileno())
            sock.close()


__all__ = ["COMPLETED", "TracerouteUnavailable", "measure", "source_address_for", "trace_failure"]
