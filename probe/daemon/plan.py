"""A round's work plan as the daemon's logic sees it: plain values, no protobuf (pure).

probe/daemon/wire.py converts a vantage.v1.WorkPlan into a RoundPlan once, when the
plan arrives (or is loaded from the state dir); the round runner, the main loop and
the policy checks work on these values only. Zero and "" mean "not given", as on the
wire, so that the defaults live in one place: the engine's model
(probe/engine/model.py), applied by `request_from_task`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from vantage.kinds import Protocol
from vantage.probe.daemon.scheduler import PlanTiming
from vantage.probe.engine.model import (
    DEFAULT_DNS_PORT,
    DEFAULT_DNS_QUERY_NAME,
    DEFAULT_DNS_QUERY_TYPE,
    DEFAULT_DNS_TIMEOUT_MS,
    DEFAULT_HTTP_TIMEOUT_MS,
    DEFAULT_ICMP_COUNT,
    DEFAULT_ICMP_INTERVAL_MS,
    DEFAULT_ICMP_TIMEOUT_MS,
    DEFAULT_TCP_TIMEOUT_MS,
    DEFAULT_TRACE_FIRST_TTL,
    DEFAULT_TRACE_MAX_TTL,
    DEFAULT_TRACE_METHOD,
    DEFAULT_TRACE_PROBES_PER_HOP,
    DEFAULT_TRACE_TIMEOUT_MS,
    DnsOptions,
    HttpOptions,
    IcmpOptions,
    MeasurementRequest,
    Options,
    TcpOptions,
    TracerouteOptions,
)


@dataclass(frozen=True, slots=True)
class PlannedTarget:
    """Where a task measures; echoed into its result."""

    address: str = ""  # IP address text; for HTTP, where to connect instead of resolving
    name: str = ""
    port: int = 0
    url: str = ""
    target_id: str = ""  # the collector's id of the target


@dataclass(frozen=True, slots=True)
class PlannedOptions:
    """A task's options (each only for the protocols its comment names)."""

    count: int = 0  # ICMP packets
    interval_ms: int = 0  # ICMP gap between packets
    timeout_ms: int = 0  # every protocol
    query_name: str = ""  # DNS
    query_type: str = ""  # DNS
    expected: tuple[str, ...] = ()  # DNS answers outside this set are a mismatch
    url: str = ""  # HTTP
    trace_method: str = ""  # TRACEROUTE: "icmp", "udp" or "tcp"
    first_ttl: int = 0  # TRACEROUTE
    max_ttl: int = 0  # TRACEROUTE
    probes_per_hop: int = 0  # TRACEROUTE


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """One task of a plan. A protocol number this probe does not know is UNSPECIFIED
    (the task is then reported as unrunnable, like any malformed task)."""

    id: str
    protocol: Protocol
    target: PlannedTarget = PlannedTarget()
    options: PlannedOptions = PlannedOptions()


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """A work plan as received, its timing already in the probe's wall clock."""

    timing: PlanTiming
    tasks: tuple[PlannedTask, ...]
    # Collector clock minus probe clock, seconds (positive: the collector is ahead).
    clock_offset_s: float
    clock_skew_tolerance_s: float
    probe_asn: int
    probe_country: str
    # Tasks past the probe's max_tasks_per_round, skipped while decoding (never held).
    tasks_cut: int = 0


def task_host(task: PlannedTask) -> str:
    """Where the task would send packets: its address, else the host of its URL or its name."""
    if task.target.address:
        return task.target.address
    if task.protocol is Protocol.HTTP:
        url = task.options.url or task.target.url
        return urlsplit(url).hostname or ""
    return task.target.name


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def with_address(task: PlannedTask, address: str) -> PlannedTask:
    """The task pinned to a checked address (HTTP keeps the URL's name for Host and SNI)."""
    return replace(task, target=replace(task.target, address=address))


def task_packets(task: PlannedTask) -> int:
    """Packets (or requests) the task sends: what the rate cap has to cover."""
    if task.protocol is Protocol.ICMP:
        return task.options.count or DEFAULT_ICMP_COUNT
    if task.protocol is Protocol.TRACEROUTE:  # at most: a trace usually stops well before max_ttl
        opts = task.options
        return TracerouteOptions(
            first_ttl=opts.first_ttl or DEFAULT_TRACE_FIRST_TTL,
            max_ttl=opts.max_ttl or DEFAULT_TRACE_MAX_TTL,
            probes_per_hop=opts.probes_per_hop or DEFAULT_TRACE_PROBES_PER_HOP,
        ).max_probes
    return 1


def request_from_task(task: PlannedTask) -> MeasurementRequest:
    """The request a task asks for (key = task id); ValueError when it cannot be run."""
    if not task.id:
        raise ValueError("task without an id")
    target, opts = task.target, task.options
    protocol = task.protocol
    options: Options
    if protocol is Protocol.ICMP:
        options = IcmpOptions(
            count=opts.count or DEFAULT_ICMP_COUNT,
            interval_ms=float(opts.interval_ms or DEFAULT_ICMP_INTERVAL_MS),
            timeout_ms=float(opts.timeout_ms or DEFAULT_ICMP_TIMEOUT_MS),
        )
    elif protocol is Protocol.DNS:
        from vantage.probe.engine.dns.step import validate_options  # dnspython: only for DNS tasks

        options = DnsOptions(
            query_name=opts.query_name or DEFAULT_DNS_QUERY_NAME,
            query_type=(opts.query_type or DEFAULT_DNS_QUERY_TYPE).upper(),
            port=target.port or DEFAULT_DNS_PORT,
            expected=opts.expected,
            timeout_ms=float(opts.timeout_ms or DEFAULT_DNS_TIMEOUT_MS),
        )
        validate_options(options)
    elif protocol is Protocol.HTTP:
        from vantage.probe.engine.http.step import parse_url

        url = opts.url or target.url
        if not url:
            raise ValueError(f"task {task.id}: HTTP task without a URL")
        parse_url(url)
        options = HttpOptions(url=url, timeout_ms=float(opts.timeout_ms or DEFAULT_HTTP_TIMEOUT_MS))
    elif protocol is Protocol.TCP:
        if not target.port:
            raise ValueError(f"task {task.id}: TCP task without a port")
        options = TcpOptions(port=target.port, timeout_ms=float(opts.timeout_ms or DEFAULT_TCP_TIMEOUT_MS))
    elif protocol is Protocol.TRACEROUTE:
        options = TracerouteOptions(
            method=opts.trace_method or DEFAULT_TRACE_METHOD,
            port=target.port,
            first_ttl=opts.first_ttl or DEFAULT_TRACE_FIRST_TTL,
            max_ttl=opts.max_ttl or DEFAULT_TRACE_MAX_TTL,
            probes_per_hop=opts.probes_per_hop or DEFAULT_TRACE_PROBES_PER_HOP,
            timeout_ms=float(opts.timeout_ms or DEFAULT_TRACE_TIMEOUT_MS),
        )
        problem = options.problem()
        if problem is not None:
            raise ValueError(f"task {task.id}: {problem}")
    else:
        raise ValueError(f"task {task.id}: unknown protocol {int(protocol)}")
    return MeasurementRequest(
        key=task.id, address=target.address, options=options, name=target.name, target_id=target.target_id
    )
