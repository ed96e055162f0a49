"""The asyncio driver of one DNS query: UDP (retried over TCP when truncated) or TCP.

The engine paid the query's first packet; a TCP fallback's connection is paid from the run's
rate cap too, SYN retransmissions included (engine/paced.py).

Two ways in, one judgement. `measure` is a coroutine, run as a task per query. `start_on_callbacks`
drives the common case (UDP to a server given as an address) with the loop's callbacks
alone: the socket is written at once, a reader callback takes the answer and a timer the
timeout, with no task, future or timeout context per query. Those cost ≈ 1.5 turns of the
event loop and ≈ 100 µs of CPU a query on the netns bench, more than the query's own work
(issue 18: DNS per query against a plain dnspython loop and dig -f). Both paths share the
steps (engine/dns/step.py) and the failure mapping below; a truncated answer hands its query to
a task for the TCP retry, and anything unusual (a send that would block) to `measure`.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
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
    ProbeLoad,
    fast_builder,
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
        return _failed(request, started_at, start, exc, truncated, transport, tcp_fallback)
    exchange = dns_step.Exchange(server, options.port, transport, response, rtt_ms, tcp_fallback)
    outcome, failure, details = dns_step.interpret(options, exchange)
    return _result(request, started_at, start, outcome, failure, details)


def _failed(
    request: MeasurementRequest,
    started_at: datetime,
    start: float,
    exc: BaseException,
    truncated: dns_step.Exchange | None,
    transport: str,
    tcp_fallback: bool,
    probe_load: ProbeLoad | None = None,
) -> MeasurementResult:
    options = request.options
    assert isinstance(options, DnsOptions)
    error = _icmp_failure(exc) or failure_from_exception(exc, Operation.DNS_ROUND_TRIP)
    if truncated is not None:
        # TCP failed after a truncated UDP answer: the part that came is the evidence (a
        # network that blocks TCP/53 still answered over UDP), under the TCP failure.
        _, _, details = dns_step.interpret(options, truncated)
        details = replace(details, transport="tcp", tcp_fallback=True)
    else:
        details = dns_step.base_details(options, request.address, transport, tcp_fallback)
    return _result(request, started_at, start, Outcome.FAILURE, error, details, probe_load)


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
            error = _with_queued_error(sock, family, exc)
            if error is exc:
                raise
            raise error from exc


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
    probe_load: ProbeLoad | None = None,
) -> MeasurementResult:
    # Positional, in MeasurementResult's declaration order (fast_builder).
    return _measurement_result(
        request.key,
        Protocol.DNS,
        request.address,
        started_at,
        (time.perf_counter() - start) * 1000,
        outcome,
        failure,
        details,
        request.name,
        details.server_port,
        "",  # url
        request.target_id,
        6 if ":" in request.address else 4,
        "",  # source_address
        probe_load,
    )


_measurement_result = fast_builder(MeasurementResult)

# What start_on_callbacks's caller learns when a query ends: its result, or the exception of a bug.
Finish = Callable[[MeasurementResult | BaseException], None]


def start_on_callbacks(
    request: MeasurementRequest,
    context: DriverContext,
    finish: Finish,
    load: Callable[[], ProbeLoad],
) -> UdpQuery | None:
    """Start a UDP query without a task (see the module docstring), or None (nothing done) when
    the request is not one this path takes: TCP, or a server given by name.

    `finish` is called once, from a loop callback, never from within this call; `load` gives
    the ProbeLoad the result carries, when it ends. The caller closes what is still running
    when it stops (UdpQuery.close)."""
    options = request.options
    if not isinstance(options, DnsOptions) or options.use_tcp:
        return None
    family = _family(request.address)
    if not _is_address(family, request.address):
        return None
    return UdpQuery(request, options, family, context, finish, load)


class UdpQuery:
    """One query over UDP driven by loop callbacks (start_on_callbacks); the same steps, timings and
    failures as `measure`: the timeout covers everything from the start, TCP retry included."""

    __slots__ = (
        "_context",
        "_deadline",
        "_fd",
        "_finish",
        "_load",
        "_loop",
        "_options",
        "_query",
        "_query_id",
        "_request",
        "_sent",
        "_sock",
        "_start",
        "_started_at",
        "_task",
        "_timer",
    )

    def __init__(
        self,
        request: MeasurementRequest,
        options: DnsOptions,
        family: socket.AddressFamily,
        context: DriverContext,
        finish: Finish,
        load: Callable[[], ProbeLoad],
    ) -> None:
        loop = asyncio.get_running_loop()
        self._request, self._options, self._context = request, options, context
        self._finish, self._load, self._loop = finish, load, loop
        self._started_at = datetime.now(UTC)
        self._start = self._sent = time.perf_counter()
        self._query_id = context.rng.getrandbits(16)
        self._query = dns_step.build_query(options, self._query_id)
        self._deadline = loop.time() + options.timeout_ms / 1000
        self._timer: asyncio.TimerHandle | None = loop.call_at(self._deadline, self._timed_out)
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self._fd = -1
        try:
            sock = self._sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            if family == socket.AF_INET:
                sock.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, _IPV6_RECVERR, 1)
            sock.connect((request.address, options.port))  # as _udp_exchange: sends nothing
        except OSError as exc:
            loop.call_soon(self._end_failed, exc)
            return
        self._sent = time.perf_counter()
        try:
            sock.send(self._query)
        except (BlockingIOError, InterruptedError):
            # Nothing left: the whole query goes to `measure` instead (a fresh socket and id).
            self._close()
            self._task = loop.create_task(self._as_task())
            return
        except OSError as exc:
            loop.call_soon(self._end_failed, _with_queued_error(sock, family, exc))
            return
        self._fd = sock.fileno()
        loop.add_reader(self._fd, self._readable)

    def close(self) -> None:
        """Stop without a result (the engine is stopping)."""
        self._close()
        if self._task is not None:
            self._task.cancel()

    def _close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            self._fd = -1
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _readable(self) -> None:
        sock = self._sock
        assert sock is not None
        try:
            wire = sock.recv(_MAX_UDP_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._end_failed(_with_queued_error(sock, sock.family, exc))
            return
        if not dns_step.answers_query(self._query_id, wire):
            return  # a late answer to someone else, junk: keep waiting (as _udp_exchange)
        rtt_ms = (time.perf_counter() - self._sent) * 1000
        self._close()
        request, options = self._request, self._options
        exchange = dns_step.Exchange(request.address, options.port, "udp", wire, rtt_ms)
        if dns_step.is_truncated(wire):
            self._task = self._loop.create_task(self._tcp_retry(exchange))
            return
        try:
            outcome, failure, details = dns_step.interpret(options, exchange)
            result = _result(request, self._started_at, self._start, outcome, failure, details, self._load())
        except Exception as exc:  # our bug: the caller raises it
            self._finish(exc)
            return
        self._finish(result)

    def _timed_out(self) -> None:
        self._timer = None
        self._end_failed(TimeoutError())  # what asyncio.timeout raises in `measure`

    def _end_failed(self, exc: BaseException, truncated: dns_step.Exchange | None = None) -> None:
        self._close()
        transport = "udp" if truncated is None else "tcp"
        try:
            result = _failed(
                self._request, self._started_at, self._start, exc, truncated, transport,
                truncated is not None, self._load(),
            )  # fmt: skip
        except Exception as bug:
            self._finish(bug)
            return
        self._finish(result)

    async def _tcp_retry(self, truncated: dns_step.Exchange) -> None:
        request, options = self._request, self._options
        try:
            async with asyncio.timeout_at(self._deadline):
                response, rtt_ms = await _tcp_exchange(
                    request.address, options.port, self._query, Budget(self._context.pacer)
                )
        except (OSError, EOFError, TimeoutError) as exc:
            self._end_failed(exc, truncated)
            return
        except Exception as bug:
            self._finish(bug)
            return
        try:
            exchange = dns_step.Exchange(request.address, options.port, "tcp", response, rtt_ms, True)
            outcome, failure, details = dns_step.interpret(options, exchange)
            result = _result(request, self._started_at, self._start, outcome, failure, details, self._load())
        except Exception as bug:
            self._finish(bug)
            return
        self._finish(result)

    async def _as_task(self) -> None:
        try:
            result = await measure(self._request, self._context)
            result = replace(result, probe_load=self._load())
        except Exception as bug:
            self._finish(bug)
            return
        self._finish(result)


def _with_queued_error(sock: socket.socket, family: int, exc: OSError) -> OSError:
    """The error of a send or receive, with the ICMP error the socket's queue holds: the errno
    folds ICMP errors together (admin-prohibited and TTL exceeded read as EHOSTUNREACH); the
    error queue holds the ICMP type and code themselves."""
    queued = read_error_queue(sock, limit=4)
    if queued:
        return _IcmpError(4 if family == socket.AF_INET else 6, queued[-1], exc)
    return exc
