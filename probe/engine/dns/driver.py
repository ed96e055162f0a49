"""The asyncio driver of one DNS query: UDP (retried over TCP when truncated) or TCP.

The engine paid the query's first packet; a TCP fallback's connection is paid from the run's
rate cap too, SYN retransmissions included (engine/paced.py).
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import replace
from datetime import UTC, datetime

from vantage import failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome, Protocol
from vantage.probe.engine.context import DriverContext
from vantage.probe.engine.dns import step as dns_step
from vantage.probe.engine.failure_map import failure_from_exception, kind_for_icmp_error
from vantage.probe.engine.icmp.sockets import QueuedError, read_error_queue
from vantage.probe.engine.model import (
    DnsDetails,
    DnsOptions,
    MeasurementRequest,
    MeasurementResult,
)
from vantage.probe.engine.paced import Budget, connect_tcp

_MAX_UDP_BYTES = 65535
# Linux IP_RECVERR / IPV6_RECVERR (include/uapi/linux/in.h, in6.h): without them a UDP socket
# ignores "soft" ICMP errors such as host unreachable and the query just times out.
_IP_RECVERR = 11
_IPV6_RECVERR = 25


async def measure(request: MeasurementRequest, context: DriverContext) -> MeasurementResult:
    """One DNS query (vantage/protocols.py names this module as DNS's driver)."""
    rng = context.rng
    options = request.options
    assert isinstance(options, DnsOptions)
    started_at = datetime.now(UTC)
    start = time.perf_counter()
    query_id = rng.getrandbits(16)
    query = dns_step.build_query(options, query_id)
    server = request.address
    transport = "tcp" if options.use_tcp else "udp"
    tcp_fallback = False
    truncated: dns_step.Exchange | None = None
    budget = Budget(context.pacer)
    try:
        async with asyncio.timeout(options.timeout_ms / 1000):
            if options.use_tcp:
                response, rtt_ms = await _tcp_exchange(server, options.port, query, budget)
            else:
                response, rtt_ms = await _udp_exchange(server, options.port, query, query_id)
                if dns_step.is_truncated(response):
                    truncated = dns_step.Exchange(server, options.port, "udp", response, rtt_ms)
                    transport, tcp_fallback = "tcp", True
                    response, rtt_ms = await _tcp_exchange(server, options.port, query, budget)
    except (OSError, EOFError, TimeoutError) as exc:
        error = _icmp_failure(exc) or failure_from_exception(exc, Operation.DNS_ROUND_TRIP)
        if truncated is not None:
            # TCP failed after a truncated UDP answer: the part that came is the evidence (a
            # network that blocks TCP/53 still answered over UDP), under the TCP failure.
            _, _, details = dns_step.interpret(options, truncated)
            details = replace(details, transport="tcp", tcp_fallback=True)
        else:
            details = dns_step.base_details(options, server, transport, tcp_fallback)
        return _result(request, started_at, start, Outcome.FAILURE, error, details)
    exchange = dns_step.Exchange(server, options.port, transport, response, rtt_ms, tcp_fallback)
    outcome, failure, details = dns_step.interpret(options, exchange)
    return _result(request, started_at, start, outcome, failure, details)


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


async def _udp_exchange(server: str, port: int, query: bytes, query_id: int) -> tuple[bytes, float]:
    loop = asyncio.get_running_loop()
    family = _family(server)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        if family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, _IPV6_RECVERR, 1)
        # Connected, so that an ICMP port unreachable surfaces as ECONNREFUSED and datagrams
        # from other sources are never read. Connecting a UDP socket to an address sends
        # nothing and never blocks: done here directly, without the loop's future and name
        # check per query (issue 18: CPU per query); a name still goes through the loop.
        if _is_address(family, server):
            sock.connect((server, port))
        else:
            await loop.sock_connect(sock, (server, port))
        sent = time.perf_counter()
        try:
            try:
                sock.send(query)  # a datagram leaves whole or not at all
            except (BlockingIOError, InterruptedError):
                await loop.sock_sendall(sock, query)
            while True:
                wire = await loop.sock_recv(sock, _MAX_UDP_BYTES)
                if dns_step.answers_query(query_id, wire):
                    return wire, (time.perf_counter() - sent) * 1000
                # Anything else (a late answer to someone else, junk) is ignored: keep waiting.
        except OSError as exc:
            # The errno folds ICMP errors together (admin-prohibited and TTL exceeded read as
            # EHOSTUNREACH); the error queue holds the ICMP type and code themselves.
            queued = read_error_queue(sock, limit=4)
            if queued:
                raise _IcmpError(4 if family == socket.AF_INET else 6, queued[-1], exc) from exc
            raise


def _is_address(family: socket.AddressFamily, server: str) -> bool:
    try:
        socket.inet_pton(family, server)
    except OSError:
        return False
    return True


class _IcmpError(OSError):
    """A UDP query answered by an ICMP error, with what the error queue said about it."""

    def __init__(self, family: int, queued: QueuedError, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.family = family
        self.queued = queued


def _icmp_failure(exc: BaseException) -> Failure | None:
    if not isinstance(exc, _IcmpError):
        return None
    queued = exc.queued
    detail = f"ICMP type {queued.icmp_type} code {queued.code} from {queued.offender} ({exc.strerror})"
    if (exc.family, queued.icmp_type, queued.code) in _PORT_UNREACHABLE:
        return Failure(failures.CONNECTION_REFUSED, Operation.DNS_ROUND_TRIP, detail)  # as dig says it
    kind = kind_for_icmp_error(exc.family, queued.icmp_type, queued.code)
    return Failure(kind, Operation.DNS_ROUND_TRIP, detail)


# Port unreachable: the server's host answered, and nothing listens (dig: "connection refused").
_PORT_UNREACHABLE = frozenset({(4, 3, 3), (6, 1, 4)})


async def _tcp_exchange(server: str, port: int, query: bytes, budget: Budget) -> tuple[bytes, float]:
    reader, writer = await asyncio.open_connection(sock=await connect_tcp(server, port, budget))
    try:
        sent = time.perf_counter()
        writer.write(len(query).to_bytes(2, "big") + query)
        await writer.drain()
        length = int.from_bytes(await reader.readexactly(2), "big")
        wire = await reader.readexactly(length)
        return wire, (time.perf_counter() - sent) * 1000
    finally:
        writer.close()


def _result(
    request: MeasurementRequest,
    started_at: datetime,
    start: float,
    outcome: Outcome,
    failure: Failure | None,
    details: DnsDetails,
) -> MeasurementResult:
    return MeasurementResult(
        key=request.key,
        protocol=Protocol.DNS,
        address=request.address,
        started_at=started_at,
        duration_ms=(time.perf_counter() - start) * 1000,
        outcome=outcome,
        failure=failure,
        details=details,
        name=request.name,
        port=details.server_port,
        target_id=request.target_id,
        address_family=6 if ":" in request.address else 4,
    )
