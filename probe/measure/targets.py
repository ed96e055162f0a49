"""Turning `vantage probe measure` targets and options into MeasurementRequests (CLI edge).

Names are resolved here, with the system resolver, because the user asked for a name; the
engine itself only ever measures addresses (except an HTTP URL's host without --resolve).
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
from collections.abc import Sequence

from vantage.cliutil import UsageError
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
    TcpOptions,
)
from vantage.probe.engine.sweep_requests import IcmpSweep
from vantage.probe.measure.cli import expand_prefix

RESOLV_CONF = "/etc/resolv.conf"


def build_requests(
    protocol: str, targets: Sequence[str], args: argparse.Namespace
) -> Sequence[MeasurementRequest]:
    return BUILDERS[protocol](targets, args)


def _icmp(targets: Sequence[str], args: argparse.Namespace) -> Sequence[MeasurementRequest]:
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
    requests: list[MeasurementRequest] = []
    for target in targets:
        expanded = expand_prefix(target)
        if expanded is not None:
            sweep = IcmpSweep(expanded, options, first_key=len(requests), from_prefix=True)
            if len(targets) == 1:  # a sweep: its requests are built only when a result needs them
                return sweep
            requests.extend(sweep)
            continue
        address, name = _address_of(target)
        requests.append(MeasurementRequest(str(len(requests)), address, options, name=name))
    return requests


def _dns(targets: Sequence[str], args: argparse.Namespace) -> list[MeasurementRequest]:
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


def _http(targets: Sequence[str], args: argparse.Namespace) -> list[MeasurementRequest]:
    from vantage.probe.engine.http import step as http_step  # only HTTP needs it

    if args.max_redirects < 0:
        raise UsageError(f"--max-redirects must not be negative, not {args.max_redirects}")
    overrides: dict[str, str] = {}
    for entry in args.resolve:
        host, _, address = entry.rpartition(":")
        try:
            overrides[host.lower()] = str(ipaddress.ip_address(address.strip("[]")))
        except ValueError:
            raise UsageError(f"--resolve {entry!r}: expected HOST:IP") from None
        if not host:
            raise UsageError(f"--resolve {entry!r}: expected HOST:IP")
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


def _tcp(targets: Sequence[str], args: argparse.Namespace) -> list[MeasurementRequest]:
    requests = []
    for i, target in enumerate(targets):
        host, port = _split_host_port(target, args.port)
        if not port:
            raise UsageError(f"target {target!r} has no port: write HOST:PORT or give --port")
        if not 0 < port < 65536:
            raise UsageError(f"target {target!r}: port {port} is out of range")
        address, name = _address_of(host)
        options = TcpOptions(port=port, timeout_ms=args.timeout or DEFAULT_TCP_TIMEOUT_MS)
        requests.append(MeasurementRequest(str(i), address, options, name=name))
    return requests


# One builder per kind in vantage/protocols.py (tests/test_protocols.py checks the keys).
BUILDERS = {"icmp": _icmp, "dns": _dns, "http": _http, "tcp": _tcp}


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
    try:
        infos = socket.getaddrinfo(target, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UsageError(
            f"target {target!r} is neither an IP address nor a name that resolves ({exc})"
        ) from None
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
