"""The asyncio driver of an HTTP(S) GET: h11 over asyncio streams, one timestamp per phase.

Per hop: resolve the host (skipped when the request names the address to connect to, like
curl --resolve, or the URL holds an address), TCP connect, TLS handshake (certificate verified
against the system store or --ca-file; with `insecure` a failed verification is recorded and the
handshake repeated without it), send the request, first byte, then the body up to the bound.
Redirects are followed up to the bound. No proxy is ever used: nothing here reads the
environment. The failure's operation is the phase that was running when it happened.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import h11

from vantage import failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome, Protocol
from vantage.probe.engine.context import DriverContext
from vantage.probe.engine.failure_map import failure_from_exception
from vantage.probe.engine.http import step as http_step
from vantage.probe.engine.model import (
    AddressGuard,
    HttpDetails,
    HttpOptions,
    HttpTimings,
    MeasurementRequest,
    MeasurementResult,
    Redirect,
    TlsInfo,
)

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


async def measure(request: MeasurementRequest, context: DriverContext) -> MeasurementResult:
    """One HTTP(S) fetch (vantage/protocols.py names this module as HTTP's driver)."""
    guard = context.address_guard
    options = request.options
    assert isinstance(options, HttpOptions)
    started_at = datetime.now(UTC)
    start = time.perf_counter()
    first_host = http_step.parse_url(options.url).host
    url = options.url
    redirects: list[Redirect] = []
    hop = _Hop()
    failure: Failure | None = None
    try:
        async with asyncio.timeout(options.timeout_ms / 1000):
            while True:
                parts = http_step.parse_url(url)
                connect_to = request.address if request.address and parts.host == first_host else ""
                hop = _Hop()
                await _fetch(parts, connect_to, options, hop, guard)
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
        timings=HttpTimings(hop.dns_ms, hop.connect_ms, hop.tls_ms, hop.first_byte_ms, total_ms),
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
        name=request.name or ("" if http_step.parse_url(options.url).host_is_address else first_host),
        port=http_step.parse_url(options.url).port,
        url=options.url,
        target_id=request.target_id,
        address_family=(6 if ":" in address else 4) if address else 0,
        source_address=hop.source_address,
    )


class _RefusedByPolicy(Exception):
    """The caller's address guard refused an address met on the way (a redirect's host)."""


def _outcome(failure: Failure | None) -> Outcome:
    if failure is None:
        return Outcome.OK
    return Outcome.REFUSED_BY_POLICY if failure.kind == failures.REFUSED_BY_POLICY else Outcome.FAILURE


async def _fetch(
    parts: http_step.UrlParts, connect_to: str, options: HttpOptions, hop: _Hop, guard: AddressGuard | None
) -> None:
    loop = asyncio.get_running_loop()
    mark = time.perf_counter()
    hop.phase = Operation.RESOLVE
    if connect_to:
        address = connect_to
    elif parts.host_is_address:
        address = parts.host
    else:
        infos = await loop.getaddrinfo(parts.host, parts.port, type=socket.SOCK_STREAM)
        address = str(infos[0][4][0])
        hop.dns_ms = (time.perf_counter() - mark) * 1000
    hop.address = address
    refusal = guard(address) if guard is not None else None
    if refusal is not None:
        raise _RefusedByPolicy(f"{parts.host} -> {address}: {refusal}")
    hop.phase = Operation.CONNECT
    mark = time.perf_counter()
    sock = await _connect(address, parts.port)
    hop.connect_ms = (time.perf_counter() - mark) * 1000
    hop.source_address = str(sock.getsockname()[0])
    hop.phase = Operation.TLS_HANDSHAKE
    mark = time.perf_counter()
    if parts.scheme == "https":
        reader, writer = await _tls_connect(sock, address, parts, options, hop)
    else:
        reader, writer = await asyncio.open_connection(sock=sock)
    hop.tls_ms = (time.perf_counter() - mark) * 1000 if parts.scheme == "https" else 0.0
    try:
        hop.phase = Operation.HTTP_ROUND_TRIP
        await _exchange(reader, writer, parts, options, hop)
    finally:
        writer.close()


async def _connect(address: str, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _tls_context(options: HttpOptions, verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.ca_file or None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


async def _tls_connect(
    sock: socket.socket, address: str, parts: http_step.UrlParts, options: HttpOptions, hop: _Hop
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    server_name = None if parts.host_is_address else parts.host
    try:
        reader, writer = await asyncio.open_connection(
            sock=sock, ssl=_tls_context(options, verify=True), server_hostname=server_name or parts.host
        )
        verification_error = ""
    except ssl.SSLCertVerificationError as exc:
        hop.tls = http_step.tls_info("", "", None, exc.verify_message)
        if not options.insecure:
            raise
        verification_error = exc.verify_message
        # The first handshake consumed the socket: connect again and skip verification.
        sock = await _connect(address, parts.port)
        reader, writer = await asyncio.open_connection(
            sock=sock, ssl=_tls_context(options, verify=False), server_hostname=server_name or parts.host
        )
    ssl_object = writer.get_extra_info("ssl_object")
    cipher = writer.get_extra_info("cipher")
    hop.tls = http_step.tls_info(
        ssl_object.version() if ssl_object else "",
        cipher[0] if cipher else "",
        writer.get_extra_info("peercert"),
        verification_error,
    )
    return reader, writer


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    parts: http_step.UrlParts,
    options: HttpOptions,
    hop: _Hop,
) -> None:
    connection = h11.Connection(h11.CLIENT)
    head = h11.Request(
        method="GET",
        target=parts.target,
        headers=[
            ("Host", parts.host_header),
            ("User-Agent", http_step.USER_AGENT),
            ("Accept", "*/*"),
            ("Connection", "close"),
        ],
    )
    sent = time.perf_counter()
    writer.write((connection.send(head) or b"") + (connection.send(h11.EndOfMessage()) or b""))
    await writer.drain()
    body = http_step.BodyDigest(options.max_body_bytes)
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(_READ_BYTES)
            if not hop.first_byte_ms:
                hop.first_byte_ms = (time.perf_counter() - sent) * 1000
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
                raise EOFError("the server closed the connection before answering")
            return
