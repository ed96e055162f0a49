"""The asyncio driver of an HTTP(S) GET: h11 over timestamped socket reads, one timestamp per phase.

Per hop: resolve the host with the probe's own DNS step (engine/dns/driver.py: A and AAAA
against the first nameserver of /etc/resolv.conf, the next ones when it does not answer; the
exchanges are part of the result and a failure is the DNS failure it is, at the resolve phase;
skipped when the request names the address to connect to, like curl --resolve, or the URL holds
an address), TCP connect, TLS handshake (certificate verified
against the system store or --ca-file; with `insecure` a failed verification is recorded and the
handshake repeated without it), send the request, first byte, then the body up to the bound.
Redirects are followed up to the bound. No proxy is ever used: nothing here reads the
environment. The failure's operation is the phase that was running when it happened.

Every DNS query and every connection attempt (each redirect hop's, each happy-eyeballs
address's, the --insecure second handshake's), SYN retransmissions included, is paid from the
run's rate cap before it is sent (engine/paced.py); a phase's time leaves out its waits for the
cap, the total does not.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import socket
import ssl
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import h11

from vantage import failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome, Protocol
from vantage.probe.engine.context import DriverContext
from vantage.probe.engine.failure_map import failure_from_exception
from vantage.probe.engine.http import step as http_step
from vantage.probe.engine.http.certificate import CertificateFacts, certificate_facts
from vantage.probe.engine.icmp.sockets import SO_TIMESTAMPNS, ancillary_facts
from vantage.probe.engine.model import (
    DEFAULT_DNS_TIMEOUT_MS,
    ConnectAttempt,
    DnsDetails,
    DnsOptions,
    HttpDetails,
    HttpOptions,
    HttpTimings,
    MeasurementRequest,
    MeasurementResult,
    Redirect,
    TlsInfo,
)
from vantage.probe.engine.paced import SYNS_PER_ATTEMPT, Budget, connect_tcp
from vantage.probe.engine.tcp_driver import handshake_rtt_ms

_READ_BYTES = 65536


@dataclass(slots=True)
class _Hop:
    """What one request/response exchange produced (mutable while it runs)."""

    phase: Operation = Operation.RESOLVE
    dns_ms: float = 0.0
    connect_ms: float = 0.0
    tls_ms: float = 0.0
    first_byte_ms: float = 0.0
    address: str = ""
    source_address: str = ""
    tls: TlsInfo | None = None
    status: int = 0
    http_version: str = ""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    header_size: int = 0
    location: str = ""
    body: http_step.BodyDigest | None = None
    tls_started: float = 0.0
    connect_rtt_ms: float = 0.0
    attempts: tuple[ConnectAttempt, ...] = ()
    resolve: tuple[DnsDetails, ...] = ()
    dns_paced_ms: float = 0.0  # the resolve phase's waits for the rate cap (not in dns_ms)
    # Taken at the socket events (kernel receive timestamps, CLOCK_REALTIME ns): see _TimedSocket.
    tls_socket_ms: float = 0.0
    first_byte_socket_ms: float = 0.0


async def measure(request: MeasurementRequest, context: DriverContext) -> MeasurementResult:
    """One HTTP(S) fetch (vantage/protocols.py names this module as HTTP's driver)."""
    options = request.options
    assert isinstance(options, HttpOptions)
    started_at = datetime.now(UTC)
    start = time.perf_counter()
    first = _parse_url(options.url)
    first_host = first.host
    url = options.url
    redirects: list[Redirect] = []
    hop = _Hop()
    failure: Failure | None = None
    budget = Budget(context.pacer)
    try:
        async with asyncio.timeout(options.timeout_ms / 1000):
            while True:
                parts = _parse_url(url)
                connect_to = request.address if request.address and parts.host == first_host else ""
                hop = _Hop()
                await _fetch(parts, connect_to, options, hop, context, budget)
                if hop.status in http_step.REDIRECT_STATUSES and hop.location:
                    redirects.append(Redirect(hop.status, hop.location))
                    if len(redirects) > options.max_redirects:
                        failure = Failure(
                            failures.HTTP_TOO_MANY_REDIRECTS,
                            Operation.HTTP_ROUND_TRIP,
                            f"more than {options.max_redirects} redirects",
                        )
                        break
                    url = http_step.redirect_url(url, hop.location)
                    continue
                break
    except _RefusedByPolicy as exc:
        failure = Failure(failures.REFUSED_BY_POLICY, Operation.POLICY, str(exc))
    except _Unresolved as exc:
        failure = Failure(exc.kind, Operation.RESOLVE, exc.detail)
    except (OSError, EOFError, TimeoutError, ssl.SSLError) as exc:
        failure = failure_from_exception(exc, hop.phase)
    except h11.ProtocolError as exc:
        failure = Failure(failures.HTTP_INVALID_RESPONSE, Operation.HTTP_ROUND_TRIP, str(exc))
    except ValueError as exc:  # a redirect to a URL we cannot fetch (ftp:, no host)
        failure = Failure(failures.HTTP_INVALID_RESPONSE, Operation.HTTP_ROUND_TRIP, str(exc))
    total_ms = (time.perf_counter() - start) * 1000
    body = hop.body
    details = HttpDetails(
        url=options.url,
        status_code=hop.status,
        timings=HttpTimings(
            hop.dns_ms,
            hop.connect_ms,
            hop.tls_ms,
            hop.first_byte_ms,
            total_ms,
            hop.connect_rtt_ms,
            tls_socket_ms=hop.tls_socket_ms,
            first_byte_socket_ms=hop.first_byte_socket_ms,
        ),
        headers=http_step.select_headers(hop.headers),
        body_length=body.length if body else 0,
        body_sha256=body.sha256 if body else "",
        body_truncated=body.truncated if body else False,
        title=http_step.extract_title(body.prefix) if body else "",
        tls=hop.tls,
        redirects=tuple(redirects),
        connected_address=hop.address,
        http_version=hop.http_version,
        header_size=hop.header_size,
        connect_attempts=hop.attempts,
        resolve=hop.resolve,
    )
    address = hop.address or request.address
    return MeasurementResult(
        key=request.key,
        protocol=Protocol.HTTP,
        address=address,
        started_at=started_at,
        duration_ms=total_ms,
        outcome=_outcome(failure),
        failure=failure,
        details=details,
        name=request.name or ("" if first.host_is_address else first_host),
        port=first.port,
        url=options.url,
        target_id=request.target_id,
        address_family=(6 if ":" in address else 4) if address else 0,
        source_address=hop.source_address,
    )


class _RefusedByPolicy(Exception):
    """The caller's address guard refused an address met on the way (a redirect's host)."""


class _Unresolved(Exception):
    """The DNS step found no address for the host: kind and detail of the resolve failure."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def _outcome(failure: Failure | None) -> Outcome:
    if failure is None:
        return Outcome.OK
    return Outcome.REFUSED_BY_POLICY if failure.kind == failures.REFUSED_BY_POLICY else Outcome.FAILURE


async def _fetch(
    parts: http_step.UrlParts,
    connect_to: str,
    options: HttpOptions,
    hop: _Hop,
    context: DriverContext,
    budget: Budget,
) -> None:
    guard = context.address_guard
    mark = time.perf_counter()
    hop.phase = Operation.RESOLVE
    if connect_to:
        addresses = [connect_to]
    elif parts.host_is_address:
        addresses = [parts.host]
    elif http_step.is_localhost(parts.host):
        addresses = http_step.connection_order(list(http_step.LOOPBACK_ADDRESSES))
    else:
        try:
            addresses = await _resolve(parts.host, options, hop, context, budget)
        finally:
            hop.dns_ms = (time.perf_counter() - mark) * 1000 - hop.dns_paced_ms
    if guard is not None:
        refusals = {address: guard(address) for address in addresses}
        allowed = [address for address in addresses if refusals[address] is None]
        if not allowed:
            hop.address = addresses[0]
            raise _RefusedByPolicy(f"{parts.host} -> {addresses[0]}: {refusals[addresses[0]]}")
        addresses = allowed
    hop.address = addresses[0]
    hop.phase = Operation.CONNECT
    await budget.spend(SYNS_PER_ATTEMPT)  # the first attempt's, before its clock starts
    sock, address = await _happy_eyeballs(addresses, parts.port, hop, budget)
    hop.address = address
    hop.connect_rtt_ms = handshake_rtt_ms(sock)
    hop.source_address = str(sock.getsockname()[0])
    hop.phase = Operation.TLS_HANDSHAKE
    hop.tls_started = time.perf_counter()
    channel: _TimedSocket | _TlsChannel
    try:
        if parts.scheme == "https":
            channel = await _tls_connect(sock, address, parts, options, hop, budget)
            sock = channel.timed.sock  # with --insecure, the second connection's
            # The handshake that went through (with --insecure, the second one, not its connect).
            hop.tls_ms = (time.perf_counter() - hop.tls_started) * 1000
        else:
            channel = _TimedSocket(sock)
        hop.phase = Operation.HTTP_ROUND_TRIP
        await _exchange(channel, parts, options, hop)
    finally:
        sock.close()


def _realtime_ns() -> int:
    """The clock of the kernel's receive timestamps (SO_TIMESTAMPNS is CLOCK_REALTIME)."""
    return time.clock_gettime_ns(time.CLOCK_REALTIME)


def _since_ms(sent_ns: int, received_ns: int) -> float:
    return max(0.0, (received_ns - sent_ns) / 1e6) if sent_ns and received_ns else 0.0


class _TimedSocket:
    """A connected TCP socket read with recvmsg, so that every read carries the kernel's receive
    timestamp of its data (SO_TIMESTAMPNS, which TCP sockets honour too): a time taken at the
    socket event, which the probe's own queueing (a late event loop) cannot lengthen (issue 18)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._loop = asyncio.get_running_loop()

    async def send(self, data: bytes) -> int:
        """Send all of `data`; the CLOCK_REALTIME ns at which the kernel was handed its start."""
        handed_ns = _realtime_ns()
        await self._loop.sock_sendall(self.sock, data)
        return handed_ns

    async def recv(self) -> tuple[bytes, int]:
        """The next bytes (b"" at the peer's FIN) and their kernel receive time (CLOCK_REALTIME ns)."""
        while True:
            try:
                data, ancdata, _, _ = self.sock.recvmsg(_READ_BYTES, _ANCILLARY_BYTES)
            except (BlockingIOError, InterruptedError):
                await self._readable()
                continue
            # No stamp while the kernel is still switching timestamping on (net_enable_timestamp
            # flips a global key from a work queue): the read's own time, as the loop saw it.
            return data, ancillary_facts(ancdata)[0] or _realtime_ns()

    async def _readable(self) -> None:
        ready = self._loop.create_future()
        descriptor = self.sock.fileno()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        self._loop.add_reader(descriptor, wake)
        try:
            await ready
        finally:
            self._loop.remove_reader(descriptor)


_ANCILLARY_BYTES = socket.CMSG_SPACE(16)  # one struct timespec


class _TlsChannel:
    """TLS over a _TimedSocket through memory BIOs, so that the handshake and the first byte are
    timed by the kernel's receive timestamps as plain HTTP is."""

    def __init__(self, timed: _TimedSocket, context: ssl.SSLContext, server_hostname: str | None) -> None:
        self.timed = timed
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.ssl_object = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._last_received_ns = 0

    async def handshake(self) -> float:
        """The handshake; its time taken at the socket events: from the ClientHello handed to
        the kernel to the receive time of the data that completed it, in ms."""
        hello_ns = 0
        while True:
            try:
                self.ssl_object.do_handshake()
                break
            except ssl.SSLWantReadError:
                handed_ns = await self._flush()
                hello_ns = hello_ns or handed_ns
                data, received_ns = await self.timed.recv()
                if not data:
                    raise EOFError("the server closed the connection during the TLS handshake") from None
                self._last_received_ns = received_ns
                self._incoming.write(data)
        completed_ns = self._last_received_ns
        await self._flush()  # the client's last flight (its Finished)
        return _since_ms(hello_ns, completed_ns)

    async def _flush(self) -> int:
        pending = self._outgoing.read()
        return await self.timed.send(pending) if pending else 0

    async def send(self, data: bytes) -> int:
        self.ssl_object.write(data)
        return await self._flush()

    async def recv(self) -> tuple[bytes, int]:
        """The next plaintext (b"" at the end) and the receive time of the data that carried it."""
        while True:
            try:
                return self.ssl_object.read(_READ_BYTES), self._last_received_ns
            except ssl.SSLWantReadError:
                await self._flush()  # a key update's answer, if any
                data, received_ns = await self.timed.recv()
                if not data:
                    self._incoming.write_eof()
                else:
                    self._last_received_ns = received_ns
                    self._incoming.write(data)
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                # The end, with or without close_notify (as asyncio's streams read it): whether
                # the response was complete is h11's to say.
                return b"", self._last_received_ns


RESOLV_CONF = "/etc/resolv.conf"


async def _resolve(
    host: str, options: HttpOptions, hop: _Hop, context: DriverContext, budget: Budget
) -> list[str]:
    """The host's addresses from the probe's own DNS step, A and AAAA at once, asked of each
    nameserver in turn until one answers (as glibc does); the exchanges go into the result."""
    # Imported at the first resolution: a run with --resolve or addresses in its URLs never
    # needs it (≈ 3 ms of the CLI's start-up; issue 18).
    from vantage.probe.engine.dns import driver as dns_driver

    try:
        with open(RESOLV_CONF, encoding="utf-8", errors="replace") as conf:
            servers = http_step.nameservers(conf.read())
    except OSError:
        servers = (http_step.DEFAULT_NAMESERVER,)
    # Each nameserver gets its share of the measurement's time, so that the next one is asked.
    timeout_ms = min(DEFAULT_DNS_TIMEOUT_MS, options.timeout_ms / len(servers))
    exchanges: list[DnsDetails] = []
    failure: tuple[str, str] | None = None
    for server in servers:
        # Both questions to this server are paid before either is sent (the DNS driver's own
        # Budget then holds the one paid here as its prepaid first packet).
        hop.dns_paced_ms += await budget.spend(len(http_step.RESOLVE_TYPES)) * 1000
        results = await asyncio.gather(
            *(
                dns_driver.measure(
                    MeasurementRequest(
                        key=f"resolve {host} {kind}",
                        address=server.split("%", 1)[0],
                        options=DnsOptions(query_name=host, query_type=kind, timeout_ms=timeout_ms),
                    ),
                    context,
                )
                for kind in http_step.RESOLVE_TYPES
            )
        )
        answered = []
        for kind, result in zip(http_step.RESOLVE_TYPES, results, strict=True):
            assert isinstance(result.details, DnsDetails)
            exchanges.append(result.details)
            found = tuple(a.data for a in result.details.answers if a.type == kind)
            if result.failure is not None:
                answered.append(http_step.Answered(kind, found, result.failure.kind, result.failure.detail))
            else:
                answered.append(http_step.Answered(kind, found, ""))
        hop.resolve = tuple(exchanges)
        addresses, failure = http_step.resolution(answered)
        if addresses:
            return addresses
        if any(result.details.rcode for result in results if isinstance(result.details, DnsDetails)):
            break  # this server answered (an NXDOMAIN, a SERVFAIL): the others would not be asked
    assert failure is not None
    raise _Unresolved(*failure)


async def _happy_eyeballs(
    addresses: list[str], port: int, hop: _Hop, budget: Budget
) -> tuple[socket.socket, str]:
    """Connect to the first of `addresses` that answers (RFC 8305 section 5).

    The next address is tried when the one before failed, or has not connected within the
    Connection Attempt Delay; the first connection wins and the others are abandoned. Every
    attempt is recorded in `hop.attempts`. The first attempt was paid by the caller; each later
    one pays inside its task (its time includes that wait). When all fail, the first attempt's error is raised
    (the preferred address's), after the rest were tried.
    """
    if len(addresses) == 1:
        return await _only_attempt(addresses[0], port, hop, budget)
    start = time.perf_counter()
    waiting = list(addresses)
    running: dict[asyncio.Task[socket.socket], int] = {}
    attempts: list[ConnectAttempt] = []
    errors: dict[int, BaseException] = {}  # by attempt
    winner: tuple[socket.socket, int] | None = None
    delay_s = http_step.CONNECTION_ATTEMPT_DELAY_MS / 1000
    try:
        while winner is None and (waiting or running):
            # Each pass ends with an attempt failed or the delay run out: either way the next
            # address is due (RFC 8305 section 5); a connection ends the loop.
            if waiting:
                address = waiting.pop(0)
                connecting = _connect(address, port, budget, paid=not attempts)
                running[asyncio.create_task(connecting)] = len(attempts)
                attempts.append(ConnectAttempt(address, (time.perf_counter() - start) * 1000))
            done, _ = await asyncio.wait(
                running, timeout=delay_s if waiting else None, return_when=asyncio.FIRST_COMPLETED
            )
            now_ms = (time.perf_counter() - start) * 1000
            for task in done:
                index = running.pop(task)
                attempt = attempts[index]
                error = task.exception()
                elapsed = now_ms - attempt.started_ms
                if error is None and winner is None:
                    winner = (task.result(), index)
                    attempts[index] = replace(attempt, connect_ms=elapsed)
                elif error is None:
                    task.result().close()  # connected in the same instant as the winner
                    attempts[index] = replace(attempt, connect_ms=elapsed, abandoned=True)
                else:
                    errors[index] = error
                    failure = failure_from_exception(error, Operation.CONNECT)
                    attempts[index] = replace(attempt, connect_ms=elapsed, failure=failure)
    finally:
        now_ms = (time.perf_counter() - start) * 1000
        for task, index in running.items():
            task.cancel()  # _connect closes its socket when cancelled
            attempts[index] = replace(attempts[index], connect_ms=now_ms - attempts[index].started_ms,
                                      abandoned=True)  # fmt: skip
        for outcome in await asyncio.gather(*running, return_exceptions=True):
            if isinstance(outcome, socket.socket):
                outcome.close()  # it won the race against cancel(): not ours to keep
        hop.attempts = tuple(attempts)
    if winner is None:
        raise errors[min(errors)]
    sock, index = winner
    hop.connect_ms = attempts[index].connect_ms
    return sock, attempts[index].address


async def _only_attempt(address: str, port: int, hop: _Hop, budget: Budget) -> tuple[socket.socket, str]:
    """_happy_eyeballs for a single address (--resolve, an address in the URL, a host with one
    address): the same attempt recorded, without the task and asyncio.wait around the connect
    that racing needs (issue 18: CPU per HTTP request). The caller paid for it."""
    start = time.perf_counter()
    started_ms = (time.perf_counter() - start) * 1000
    try:
        sock = await _connect(address, port, budget, paid=True)
    except asyncio.CancelledError:  # the measurement's time ran out while connecting
        elapsed = (time.perf_counter() - start) * 1000 - started_ms
        hop.attempts = (ConnectAttempt(address, started_ms, elapsed, abandoned=True),)
        raise
    except Exception as error:
        elapsed = (time.perf_counter() - start) * 1000 - started_ms
        failure = failure_from_exception(error, Operation.CONNECT)
        hop.attempts = (ConnectAttempt(address, started_ms, elapsed, failure=failure),)
        raise
    hop.connect_ms = (time.perf_counter() - start) * 1000 - started_ms
    hop.attempts = (ConnectAttempt(address, started_ms, hop.connect_ms),)
    return sock, address


async def _connect(
    address: str, port: int, budget: Budget | None = None, *, paid: bool = False
) -> socket.socket:
    # asyncio sets TCP_NODELAY only on sockets it creates itself (base_events._set_nodelay checks
    # for proto IPPROTO_TCP; this one says 0). Without it Nagle holds the request behind the
    # unacknowledged TLS Finished: one more round trip in first_byte_ms than curl (issue 18).
    # Receive timestamps from the start (_TimedSocket), so the kernel has them on by the answer.
    options = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1), (socket.SOL_SOCKET, SO_TIMESTAMPNS, 1))
    _keep_timestamping_on()
    return await connect_tcp(address, port, budget or Budget(None), paid=paid, options=options)


_TIMESTAMP_KEEPER: list[socket.socket] = []


def _keep_timestamping_on() -> None:
    """Hold one socket with SO_TIMESTAMPNS for the rest of the process (it sends nothing).

    The kernel stamps received packets only while some socket asks for it: the first such
    socket switches a global static key on (net_enable_timestamp) and the last one to close
    switches it off again, each time by patching the kernel's code from a work queue. One
    measurement after the other, every request flipped it on and off: ≈ 0.3 ms of wall time
    per connection on the bench, and the kernel's patching work besides (issue 18). Held
    open, it stays on: stamps are there from the first read of every later connection.
    """
    if _TIMESTAMP_KEEPER:
        return
    try:
        keeper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError:
        return  # no IPv4 sockets at all: each connection switches stamping on for itself
    keeper.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    _TIMESTAMP_KEEPER.append(keeper)
    atexit.register(keeper.close)


@functools.lru_cache(maxsize=16)
def tls_context(ca_file: str, verify: bool) -> ssl.SSLContext:
    """One context per configuration, for the whole process.

    Loading the system CA store takes ≈ 40 ms of CPU; made per request it was counted in
    tls_ms and capped a core at ≈ 16 HTTPS requests/s (issue 18). A context is safe to share
    between connections; the CA file is read once, when its first request starts.
    """
    if not verify:
        # Nothing to verify against: no CA store to load at all (curl -k does not read one either).
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=ca_file or None)
    context.set_alpn_protocols(["http/1.1"])
    return context


@functools.lru_cache(maxsize=64)
def _certificate_facts(der: bytes) -> CertificateFacts:
    """certificate_facts, once per distinct certificate: a pure function of the DER bytes, and a
    run measures the same few servers again and again (≈ 50 µs a handshake; issue 18). Its
    values are frozen; a ValueError is not cached (raised again each time)."""
    return certificate_facts(der)


@functools.lru_cache(maxsize=256)
def _parse_url(url: str) -> http_step.UrlParts:
    """http_step.parse_url, once per distinct URL (a frozen value; a ValueError is raised again
    each time, uncached): a measurement parsed its URL three to five times."""
    return http_step.parse_url(url)


async def _tls_connect(
    sock: socket.socket,
    address: str,
    parts: http_step.UrlParts,
    options: HttpOptions,
    hop: _Hop,
    budget: Budget,
) -> _TlsChannel:
    server_hostname = None if parts.host_is_address else parts.host  # no SNI for an address
    channel = _TlsChannel(_TimedSocket(sock), tls_context(options.ca_file, verify=True), server_hostname)
    try:
        hop.tls_socket_ms = await channel.handshake()
        verification_error = ""
    except ssl.SSLCertVerificationError as exc:
        # The certificate that failed is the evidence (an interception, a wrong site): the
        # first handshake consumed the socket, so connect again without verifying to read it.
        sock.close()
        hop.tls = http_step.tls_info("", "", None, exc.verify_message)
        verification_error = exc.verify_message
        sock = await _connect(address, parts.port, budget)
        mark = time.perf_counter()
        channel = _TlsChannel(_TimedSocket(sock), tls_context("", verify=False), server_hostname)
        try:
            hop.tls_socket_ms = await channel.handshake()
        except (OSError, EOFError, ssl.SSLError):
            sock.close()
            raise exc from None  # the verification failure is what this measurement found
        hop.tls_started = mark
        if not options.insecure:
            hop.tls = _tls_facts(channel.ssl_object, verification_error)
            sock.close()
            raise
    hop.tls = _tls_facts(channel.ssl_object, verification_error)
    return channel


def _tls_facts(ssl_object: ssl.SSLObject, verification_error: str) -> TlsInfo:
    cipher = ssl_object.cipher()
    der = ssl_object.getpeercert(binary_form=True)
    try:
        facts = _certificate_facts(der) if der else None
    except ValueError:
        facts = None  # not a certificate we can read: the rest of the handshake is still known
    return http_step.tls_info(
        ssl_object.version() or "", cipher[0] if cipher else "", facts, verification_error
    )


async def _exchange(
    channel: _TimedSocket | _TlsChannel, parts: http_step.UrlParts, options: HttpOptions, hop: _Hop
) -> None:
    connection = h11.Connection(h11.CLIENT)
    head = _request_head(parts.target, parts.host_header)
    sent = time.perf_counter()
    sent_ns = await channel.send(
        (connection.send(head) or b"") + (connection.send(h11.EndOfMessage()) or b"")
    )
    body = http_step.BodyDigest(options.max_body_bytes)
    peer_closed = False
    while True:
        try:
            event = connection.next_event()
        except h11.RemoteProtocolError:
            if peer_closed:  # h11 says "incomplete"; what happened is the peer hung up (issue 18)
                raise EOFError(_early_close(hop)) from None
            raise
        if event is h11.NEED_DATA:
            data, received_ns = await channel.recv()
            if not data:
                peer_closed = True
            elif not hop.first_byte_ms:
                hop.first_byte_ms = (time.perf_counter() - sent) * 1000
                hop.first_byte_socket_ms = _since_ms(sent_ns, received_ns)
            connection.receive_data(data)  # b"" means the peer closed; h11 raises if too early
            continue
        if isinstance(event, h11.Response):
            hop.status = event.status_code
            hop.http_version = "HTTP/" + event.http_version.decode()
            hop.headers = list(event.headers)
            hop.header_size = http_step.header_size(len(event.reason) + 15, hop.headers)
            hop.location = next((v.decode("latin-1") for n, v in event.headers if n == b"location"), "")
            hop.body = body
        elif isinstance(event, h11.Data):
            if not body.feed(bytes(event.data)):
                return  # the bound is reached: the rest is not read (body_truncated)
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            if not hop.status:
                raise EOFError(_early_close(hop))
            return


@functools.lru_cache(maxsize=256)
def _request_head(target: str, host_header: str) -> h11.Request:
    """The GET's head, made (and its headers validated by h11) once per target and host: h11's
    events are immutable and sending one leaves it as it was (≈ 25 µs a request; issue 18)."""
    return h11.Request(
        method="GET",
        target=target,
        headers=[
            ("Host", host_header),
            ("User-Agent", http_step.USER_AGENT),
            ("Accept", "*/*"),
            ("Connection", "close"),
        ],
    )


def _early_close(hop: _Hop) -> str:
    if not hop.status:
        return "the server closed the connection before answering"
    received = hop.body.length if hop.body else 0
    return f"the server closed the connection after {received} bytes of the body"
