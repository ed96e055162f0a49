"""Turning `vantage probe measure` targets and options into MeasurementRequests (CLI edge).

Names are resolved here, with the system resolver, because the user asked for a name; the
engine itself only ever measures addresses (except an HTTP URL's host without --resolve).
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from vantage.cliutil import UsageError
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome
from vantage.probe.engine.failure_map import failure_from_exception
from vantage.probe.engine.icmp.packets import MIN_PAYLOAD_BYTES
from vantage.probe.engine.model import (
    DEFAULT_DNS_PORT,
    DEFAULT_DNS_TIMEOUT_MS,
    DEFAULT_HTTP_TIMEOUT_MS,
    DEFAULT_ICMP_TIMEOUT_MS,
    DEFAULT_TCP_TIMEOUT_MS,
    DnsOptions,
    HttpOptions,
    IcmpOptions,
    MeasurementRequest,
    MeasurementResult,
    TcpOptions,
    TracerouteOptions,
)
from vantage.probe.engine.sweep_requests import IcmpSweep
from vantage.probe.measure.cli import expand_prefix
from vantage.protocols import kind_named

RESOLV_CONF = "/etc/resolv.conf"


class Unresolved(Exception):
    """A target name that did not resolve: measured as the DNS failure it is (issue 18)."""

    def __init__(self, name: str, failure: Failure, started_at: datetime, duration_ms: float) -> None:
        super().__init__(f"{name}: {failure.kind}")
        self.name = name
        self.failure = failure
        self.started_at = started_at
        self.duration_ms = duration_ms


@dataclass(frozen=True, slots=True)
class Plan:
    requests: Sequence[MeasurementRequest]
    # One failed result per target whose name did not resolve; every other target is measured.
    unresolved: tuple[MeasurementResult, ...] = ()


def build_plan(protocol: str, targets: Sequence[str], args: argparse.Namespace) -> Plan:
    unresolved: list[Unresolved] = []
    requests = BUILDERS[protocol](targets, args, unresolved)
    kind = kind_named(protocol)
    assert kind is not None, protocol  # BUILDERS has a builder for every kind, and only those
    results = tuple(
        MeasurementResult(
            key=f"unresolved-{i}",
            protocol=kind.protocol,
            address="",
            started_at=u.started_at,
            duration_ms=u.duration_ms,
            outcome=Outcome.FAILURE,
            failure=u.failure,
            name=u.name,
        )
        for i, u in enumerate(unresolved)
    )
    return Plan(requests, results)


def _icmp(
    targets: Sequence[str], args: argparse.Namespace, unresolved: list[Unresolved]
) -> Sequence[MeasurementRequest]:
    if args.count < 1:
        raise UsageError(f"--count must be at least 1, not {args.count}")
    if args.interval < 0:
        raise UsageError(f"--interval must not be negative, not {args.interval}")
    if not MIN_PAYLOAD_BYTES <= args.size <= 65000:
        raise UsageError(f"--size must be between {MIN_PAYLOAD_BYTES} and 65000 bytes, not {args.size}")
    options = IcmpOptions(
        count=args.count,
        interval_ms=args.interval,
        timeout_ms=args.timeout or DEFAULT_ICMP_TIMEOUT_MS,
        payload_bytes=args.size,
    )
    if len(targets) > 1 and all_canonical_ipv4(targets) and len(set(targets)) == len(targets):
        # Distinct addresses only (a --targets-file, or arguments): one sweep like a prefix's,
        # its requests built only when a result needs them, instead of 65k requests up front.
        return IcmpSweep(list(targets), options, from_prefix=True)  # checked just above
    requests: list[MeasurementRequest] = []
    for target in targets:
        expanded = expand_prefix(target)
        if expanded is not None:
            sweep = IcmpSweep(expanded, options, first_key=len(requests), from_prefix=True)
            if len(targets) == 1:  # a sweep: its requests are built only when a result needs them
                return sweep
            requests.extend(sweep)
            continue
        try:
            address, name = _address_of(target)
        except Unresolved as exc:
            unresolved.append(exc)
            continue
        requests.append(MeasurementRequest(str(len(requests)), address, options, name=name))
    return requests


def all_canonical_ipv4(texts: Sequence[str]) -> bool:
    """all(map(is_canonical_ipv4, texts)), in C: inet_pton takes IPv4 text in exactly the form
    str(IPv4Address) writes (four decimal octets, none above 255, no leading zeros: glibc's and
    musl's inet_pton4), where inet_aton would also take "1" or "0x7f.1". A sweep's 65k
    targets: less than half the time of the regular expression one by one."""
    try:
        b"".join(map(functools.partial(socket.inet_pton, socket.AF_INET), texts))
    except (OSError, ValueError):  # not such an address (or a NUL, or a non-ASCII letter in it)
        return False
    return True


def _dns(
    targets: Sequence[str], args: argparse.Namespace, unresolved: list[Unresolved]
) -> list[MeasurementRequest]:
    from vantage.probe.engine.dns.step import validate_options  # dnspython: not for other protocols

    server, port = (
        _split_host_port(args.server, DEFAULT_DNS_PORT) if args.server else (_resolv_conf_server(), 53)
    )
    try:
        server = str(ipaddress.ip_address(server))
    except ValueError:
        raise UsageError(f"--server must be an IP address, not {server!r}") from None
    requests = []
    for i, name in enumerate(targets):
        options = DnsOptions(
            query_name=name,
            query_type=args.type.upper(),
            port=port,
            use_tcp=args.tcp,
            expected=tuple(args.expect),
            timeout_ms=args.timeout or DEFAULT_DNS_TIMEOUT_MS,
            recursion_desired=not args.no_recurse,
        )
        try:
            validate_options(options)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        requests.append(MeasurementRequest(str(i), server, options, name=name))
    return requests


def _http(
    targets: Sequence[str], args: argparse.Namespace, unresolved: list[Unresolved]
) -> list[MeasurementRequest]:
    from vantage.probe.engine.http import step as http_step  # only HTTP needs it

    if args.max_redirects < 0:
        raise UsageError(f"--max-redirects must not be negative, not {args.max_redirects}")
    overrides = dict(parse_resolve(entry) for entry in args.resolve)
    requests = []
    for i, url in enumerate(targets):
        try:
            parts = http_step.parse_url(url)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        options = HttpOptions(
            url=url,
            timeout_ms=args.timeout or DEFAULT_HTTP_TIMEOUT_MS,
            max_redirects=args.max_redirects,
            ca_file=args.ca_file or "",
            insecure=args.insecure,
        )
        requests.append(MeasurementRequest(str(i), overrides.get(parts.host.lower(), ""), options))
    return requests


def parse_resolve(entry: str) -> tuple[str, str]:
    """`HOST:ADDR` or `HOST:[ADDR]` -> (host in lower case, address).

    A host name holds no colon, so the first colon ends it and the rest is the address, which
    may be an IPv6 address with colons of its own (brackets optional).
    """
    host, _, address = entry.partition(":")
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        raise UsageError(f"--resolve {entry!r}: expected HOST:IP or HOST:[IPV6]") from None
    if not host:
        raise UsageError(f"--resolve {entry!r}: expected HOST:IP or HOST:[IPV6]")
    return host.lower(), str(parsed)


def _tcp(
    targets: Sequence[str], args: argparse.Namespace, unresolved: list[Unresolved]
) -> list[MeasurementRequest]:
    requests = []
    for i, target in enumerate(targets):
        host, port = _split_host_port(target, args.port)
        if not port:
            raise UsageError(f"target {target!r} has no port: write HOST:PORT or give --port")
        if not 0 < port < 65536:
            raise UsageError(f"target {target!r}: port {port} is out of range")
        try:
            address, name = _address_of(host)
        except Unresolved as exc:
            unresolved.append(exc)
            continue
        options = TcpOptions(port=port, timeout_ms=args.timeout or DEFAULT_TCP_TIMEOUT_MS)
        requests.append(MeasurementRequest(str(i), address, options, name=name))
    return requests


def _traceroute(
    targets: Sequence[str], args: argparse.Namespace, unresolved: list[Unresolved]
) -> list[MeasurementRequest]:
    from vantage.probe.engine.model import DEFAULT_TRACE_TIMEOUT_MS

    options = TracerouteOptions(
        method=args.protocol,
        port=args.port,
        first_ttl=args.first_ttl,
        max_ttl=args.max_ttl,
        probes_per_hop=args.queries,
        max_silent_hops=args.max_silent,
        timeout_ms=args.timeout or DEFAULT_TRACE_TIMEOUT_MS,
        probes_in_flight=args.sim_queries,
    )
    problem = options.problem()
    if problem is not None:
        raise UsageError(problem)
    requests = []
    for i, target in enumerate(targets):
        try:
            address, name = _address_of(target)
        except Unresolved as exc:
            unresolved.append(exc)
            continue
        requests.append(MeasurementRequest(str(i), address, options, name=name))
    return requests


# One builder per kind in vantage/protocols.py (tests/test_protocols.py checks the keys).
BUILDERS = {"icmp": _icmp, "dns": _dns, "http": _http, "tcp": _tcp, "traceroute": _traceroute}


def _split_host_port(text: str, default_port: int | None) -> tuple[str, int]:
    """ "a:b" / "[v6]:p" / "v6" / "host" -> (host, port or default, 0 when none)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if port_text:
        if not port_text.isdigit():
            raise UsageError(f"{text!r}: port {port_text!r} is not a number")
        return host, int(port_text)
    return host, default_port or 0


def _address_of(target: str) -> tuple[str, str]:
    """(address, name): the target itself when it is an address, else its first address."""
    try:
        return str(ipaddress.ip_address(target)), ""
    except ValueError:
        pass
    started_at = datetime.now(UTC)
    start = time.perf_counter()
    try:
        infos = socket.getaddrinfo(target, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        # UnicodeError: a name the IDNA codec refuses (an empty label) is no name at all.
        error = exc if isinstance(exc, OSError) else socket.gaierror(socket.EAI_NONAME, str(exc))
        failure = failure_from_exception(error, Operation.RESOLVE)
        raise Unresolved(target, failure, started_at, (time.perf_counter() - start) * 1000) from None
    return str(infos[0][4][0]), target


def _resolv_conf_server() -> str:
    try:
        with open(RESOLV_CONF, encoding="utf-8") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == "nameserver":
                    return fields[1].split("%", 1)[0]
    except OSError:
        pass
    raise UsageError(f"no --server given and no nameserver in {RESOLV_CONF}")
