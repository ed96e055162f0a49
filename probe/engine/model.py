"""The engine's domain values: what to measure (requests) and what came of it (results).

Frozen, slotted dataclasses with units in their names. They carry no protobuf:
probe/daemon/plan.py makes requests from a plan's tasks, and vantage/probe/convert.py maps
results to vantage.v1 messages.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from vantage.failures import Failure
from vantage.kinds import Outcome, Protocol
from vantage.protocols import DNS, KINDS

T = TypeVar("T")

# RIPE Atlas's built-in ping measurements send 3 packets per target, 1 s apart, and wait
# 1 s for a reply; `ping` sends a 56-byte payload (64-byte ICMP message). (iputils ping(8) defaults.)
DEFAULT_ICMP_COUNT = 3
DEFAULT_ICMP_INTERVAL_MS = 1000.0
DEFAULT_ICMP_TIMEOUT_MS = 1000.0
DEFAULT_ICMP_PAYLOAD_BYTES = 56
# dig waits 5 s for a DNS answer (`+time=5`); "." SOA is a question every resolver and every
# authoritative server answers or refuses (docs/assignment.md: the default DNS task).
DEFAULT_DNS_TIMEOUT_MS = 5000.0
DEFAULT_DNS_QUERY_NAME = "."
DEFAULT_DNS_QUERY_TYPE = "SOA"
DEFAULT_DNS_PORT = DNS.default_port
# A whole HTTP fetch (all redirects) gets 10 s, OONI's urlgetter order of magnitude; the body
# is hashed over at most 1 MiB (the bound) so a huge page costs bounded memory; five
# redirects follow http -> https -> www -> a landing page with room to spare (browsers allow 20).
DEFAULT_HTTP_TIMEOUT_MS = 10_000.0
DEFAULT_HTTP_MAX_BODY_BYTES = 1 << 20
DEFAULT_HTTP_MAX_REDIRECTS = 5
# A TCP connect gets 5 s: Linux retries a SYN after 1 s and 3 s, so 5 s sees the second retry.
DEFAULT_TCP_TIMEOUT_MS = 5000.0
# Traceroute: traceroute(8)'s defaults (3 probes per hop, 30 hops, UDP port 33434, 16 probes
# in flight with -N) and RIPE Atlas's TCP traceroutes to port 80; a probe is lost after 1 s
# (Atlas waits 4 s, scamper 5 s; in a trace the next hops answer meanwhile, and 1 s is twice
# the longest RTT of a terrestrial path). Stop after 5 silent hops in a row: scamper's gap limit.
TRACE_METHODS = ("icmp", "udp", "tcp")
DEFAULT_TRACE_METHOD = "icmp"
DEFAULT_TRACE_FIRST_TTL = 1
DEFAULT_TRACE_MAX_TTL = 30
DEFAULT_TRACE_PROBES_PER_HOP = 3
DEFAULT_TRACE_MAX_SILENT_HOPS = 5
DEFAULT_TRACE_TIMEOUT_MS = 1000.0
DEFAULT_TRACE_PROBES_IN_FLIGHT = 16
DEFAULT_TRACE_UDP_PORT = 33434
DEFAULT_TRACE_TCP_PORT = 80
NS_PER_MS = 1_000_000


# Returns None when an address may be contacted, else a human reason why not.
AddressGuard = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class IcmpOptions:
    count: int = DEFAULT_ICMP_COUNT
    interval_ms: float = DEFAULT_ICMP_INTERVAL_MS
    timeout_ms: float = DEFAULT_ICMP_TIMEOUT_MS
    payload_bytes: int = DEFAULT_ICMP_PAYLOAD_BYTES


@dataclass(frozen=True, slots=True)
class DnsOptions:
    query_name: str = DEFAULT_DNS_QUERY_NAME
    query_type: str = DEFAULT_DNS_QUERY_TYPE
    port: int = DEFAULT_DNS_PORT
    use_tcp: bool = False
    # Expected answers (addresses or rdata text); empty: no expectation.
    expected: tuple[str, ...] = ()
    timeout_ms: float = DEFAULT_DNS_TIMEOUT_MS
    recursion_desired: bool = True


@dataclass(frozen=True, slots=True)
class HttpOptions:
    url: str
    timeout_ms: float = DEFAULT_HTTP_TIMEOUT_MS
    max_redirects: int = DEFAULT_HTTP_MAX_REDIRECTS
    max_body_bytes: int = DEFAULT_HTTP_MAX_BODY_BYTES
    ca_file: str = ""  # empty: the system's trust store
    insecure: bool = False  # still records the verification error, but goes on


@dataclass(frozen=True, slots=True)
class TcpOptions:
    port: int
    timeout_ms: float = DEFAULT_TCP_TIMEOUT_MS


@dataclass(frozen=True, slots=True)
class TracerouteOptions:
    method: str = DEFAULT_TRACE_METHOD  # "icmp", "udp" or "tcp" probes
    port: int = 0  # UDP/TCP destination port; 0: DEFAULT_TRACE_UDP_PORT / DEFAULT_TRACE_TCP_PORT
    first_ttl: int = DEFAULT_TRACE_FIRST_TTL
    max_ttl: int = DEFAULT_TRACE_MAX_TTL
    probes_per_hop: int = DEFAULT_TRACE_PROBES_PER_HOP
    max_silent_hops: int = DEFAULT_TRACE_MAX_SILENT_HOPS
    timeout_ms: float = DEFAULT_TRACE_TIMEOUT_MS  # per probe
    probes_in_flight: int = DEFAULT_TRACE_PROBES_IN_FLIGHT

    @property
    def max_probes(self) -> int:
        """Probes a trace sends at most (to max_ttl): what a rate budget has to cover."""
        return max(1, self.max_ttl - self.first_ttl + 1) * self.probes_per_hop

    @property
    def destination_port(self) -> int:
        if self.port or self.method == "icmp":
            return self.port
        return DEFAULT_TRACE_UDP_PORT if self.method == "udp" else DEFAULT_TRACE_TCP_PORT

    def problem(self) -> str | None:
        """Why these options cannot be run, or None."""
        if self.method not in TRACE_METHODS:
            return f"trace method must be one of {', '.join(TRACE_METHODS)}, not {self.method!r}"
        if not 1 <= self.first_ttl <= self.max_ttl <= 255:
            return f"TTLs must satisfy 1 <= first ({self.first_ttl}) <= max ({self.max_ttl}) <= 255"
        if not 1 <= self.probes_per_hop <= 10:
            return f"probes per hop must be between 1 and 10, not {self.probes_per_hop}"
        if self.max_silent_hops < 1 or self.probes_in_flight < 1:
            return "max silent hops and probes in flight must be at least 1"
        if not 0 <= self.port < 65536:
            return f"port {self.port} is out of range"
        return None


Options = IcmpOptions | DnsOptions | HttpOptions | TcpOptions | TracerouteOptions

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def is_canonical_ipv4(text: str) -> bool:
    """Whether `text` is an IPv4 address as str(IPv4Address) writes it (no leading zeros)."""
    return _DOTTED_QUAD.fullmatch(text) is not None


def ip_version(address: str) -> int:
    """4 or 6 for an IP address in text form; ValueError otherwise.

    IPv4 takes a regular expression, ≈ 10x faster than ipaddress: a sweep validates 65k of them.
    """
    if _DOTTED_QUAD.fullmatch(address):
        return 4
    if ":" in address:
        ipaddress.IPv6Address(address)
        return 6
    raise ValueError(f"{address!r} is not an IP address")


# Each options type's kind, as vantage/protocols.py declares it (tests/test_protocols.py checks
# that `Options` names the same types).
_PROTOCOL_OF: dict[type, Protocol] = {globals()[kind.options_class]: kind.protocol for kind in KINDS}


@dataclass(frozen=True, slots=True)
class MeasurementRequest:
    """One measurement to make.

    `address` is the IP measured: the ICMP/TCP target, the DNS server, or for HTTP the
    address to connect to instead of resolving the URL's host (empty: resolve it).
    """

    key: str
    address: str
    options: Options
    name: str = ""
    target_id: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a measurement request needs a key")
        if self.address or not isinstance(self.options, HttpOptions):
            try:
                ip_version(self.address)
            except ValueError:
                raise ValueError(f"{self.key}: {self.address!r} is not an IP address") from None
        options = self.options
        if isinstance(options, IcmpOptions) and not (options.count >= 1 and options.interval_ms >= 0):
            raise ValueError(f"{self.key}: ICMP count must be >= 1 and interval >= 0")
        if isinstance(options, TcpOptions | DnsOptions) and not 0 < options.port < 65536:
            raise ValueError(f"{self.key}: port {options.port} is out of range")
        if options.timeout_ms <= 0:
            raise ValueError(f"{self.key}: timeout must be positive")
        if isinstance(options, TracerouteOptions) and (problem := options.problem()) is not None:
            raise ValueError(f"{self.key}: {problem}")

    @property
    def protocol(self) -> Protocol:
        return _PROTOCOL_OF[type(self.options)]


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class PingReply:
    sequence: int
    lost: bool
    rtt_ms: float = 0.0
    ttl: int = 0
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class IcmpErrorReport:
    """An ICMP error attributed to one of our echo requests."""

    type: int
    code: int
    from_address: str
    sequence: int
    description: str


@dataclass(frozen=True, slots=True)
class IcmpDetails:
    sent: int
    received: int
    duplicates: int
    replies: tuple[PingReply, ...]
    errors: tuple[IcmpErrorReport, ...]
    min_rtt_ms: float
    avg_rtt_ms: float
    max_rtt_ms: float
    stddev_rtt_ms: float
    reply_ttl: int
    packet_size: int
    interval_ms: float


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    name: str
    type: str
    ttl: int
    data: str


@dataclass(frozen=True, slots=True)
class DnsDetails:
    query_name: str
    query_type: str
    server: str
    server_port: int
    transport: str  # "udp" or "tcp"
    rcode: str = ""
    flags: tuple[str, ...] = ()
    answers: tuple[DnsAnswer, ...] = ()
    response_time_ms: float = 0.0
    response_size: int = 0
    tcp_fallback: bool = False
    expected: tuple[str, ...] = ()
    abuf: bytes = b""


@dataclass(frozen=True, slots=True)
class HttpTimings:
    dns_ms: float = 0.0
    connect_ms: float = 0.0
    tls_ms: float = 0.0
    first_byte_ms: float = 0.0
    total_ms: float = 0.0
    connect_rtt_ms: float = 0.0  # the kernel's handshake RTT (TcpDetails.connect_rtt_ms)
    # The TLS handshake and the time to first byte taken at the socket events: from the ClientHello
    # (the request) handed to the kernel to the kernel's receive timestamp of the data that
    # completed the handshake (carried the first byte); the probe's queueing cannot lengthen them.
    tls_socket_ms: float = 0.0
    first_byte_socket_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class TlsInfo:
    version: str = ""
    cipher: str = ""
    cert_subject: str = ""
    cert_issuer: str = ""
    cert_not_after: datetime | None = None
    verification_error: str = ""
    cert_dns_names: tuple[str, ...] = ()
    cert_not_before: datetime | None = None
    cert_sha256: str = ""  # the leaf certificate's fingerprint (SHA-256 of its DER form)


@dataclass(frozen=True, slots=True)
class Redirect:
    status_code: int
    location: str


@dataclass(frozen=True, slots=True)
class ConnectAttempt:
    """One TCP connection attempt of an HTTP hop (happy eyeballs, RFC 8305)."""

    address: str
    started_ms: float  # after the hop's first attempt started
    connect_ms: float = 0.0  # until it connected, failed or was abandoned
    failure: Failure | None = None
    abandoned: bool = False  # still connecting when another attempt won


@dataclass(frozen=True, slots=True)
class HttpDetails:
    url: str
    method: str = "GET"
    status_code: int = 0
    timings: HttpTimings = field(default_factory=HttpTimings)
    headers: tuple[tuple[str, str], ...] = ()
    body_length: int = 0
    body_sha256: str = ""
    body_truncated: bool = False
    title: str = ""
    tls: TlsInfo | None = None
    redirects: tuple[Redirect, ...] = ()
    connected_address: str = ""
    http_version: str = ""
    header_size: int = 0
    connect_attempts: tuple[ConnectAttempt, ...] = ()
    # The probe's own resolution of the last hop's host (its DNS step, not the system's): the
    # A and AAAA exchanges with their rcode and answers. Empty when the address was given.
    resolve: tuple[DnsDetails, ...] = ()


@dataclass(frozen=True, slots=True)
class TcpDetails:
    address: str
    port: int
    connect_ms: float = 0.0
    # The handshake's round trip as the kernel timed it (TCP_INFO): none of the probe's own
    # queueing, which connect_ms includes (issue 18). 0.0 when the kernel took no sample.
    connect_rtt_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class MplsLabel:
    """One RFC 4950 label stack entry a hop quoted."""

    label: int
    traffic_class: int
    bottom_of_stack: bool
    ttl: int


@dataclass(frozen=True, slots=True)
class TraceReply:
    """What came back for one traceroute probe, or that nothing did (`lost`)."""

    lost: bool
    from_address: str = ""
    rtt_ms: float = 0.0
    icmp_type: int = -1  # -1: no ICMP (lost, or a TCP answer)
    icmp_code: int = 0
    quoted_ttl: int = 0  # 0: nothing quoted
    reply_ttl: int = 0
    mpls: tuple[MplsLabel, ...] = ()
    anomaly: str = ""  # docs/probe-engine.md "Traceroute"
    tcp_flags: int = 0


@dataclass(frozen=True, slots=True)
class TraceHop:
    ttl: int
    replies: tuple[TraceReply, ...]  # one per probe, in sending order

    @property
    def addresses(self) -> tuple[str, ...]:
        """The distinct addresses that answered, in order of first answer."""
        return tuple(dict.fromkeys(r.from_address for r in self.replies if not r.lost))


@dataclass(frozen=True, slots=True)
class TracerouteDetails:
    method: str
    port: int
    first_ttl: int
    max_ttl: int
    probes_per_hop: int
    hops: tuple[TraceHop, ...]
    destination_reached: bool
    stop_reason: str  # "completed", "unreachable", "gap_limit", "loop", "max_ttl"
    anomalies: tuple[str, ...] = ()
    unmatched_replies: int = 0
    packet_size: int = 0
    flow_id: int = 0


Details = IcmpDetails | DnsDetails | HttpDetails | TcpDetails | TracerouteDetails


@dataclass(frozen=True, slots=True)
class ProbeLoad:
    """How busy the probe itself was while a measurement ran (issue 18: a busy probe must not
    pass for a slow network). The timings of a DNS, HTTP or TCP measurement are taken when the
    event loop gets to a socket's event; a late loop makes them longer by its lag."""

    in_flight: int  # measurements running when this one started, itself included
    loop_lag_ms: float  # the most the event loop's timer ran late while this one ran


@dataclass(frozen=True, slots=True)
class MeasurementResult:
    """What came of one request; `key` is the request's key."""

    key: str
    protocol: Protocol
    address: str
    started_at: datetime  # wall clock, UTC
    duration_ms: float
    outcome: Outcome
    failure: Failure | None = None
    details: Details | None = None
    name: str = ""
    port: int = 0
    url: str = ""
    target_id: str = ""
    address_family: int = 0  # 4 or 6; 0 when no address was used
    source_address: str = ""
    probe_load: ProbeLoad | None = None


def distinct_options(options: Sequence[IcmpOptions]) -> list[IcmpOptions]:
    """The different options of a sweep, by value.

    A sweep usually shares one options object: identities are compared first, in C (a
    dataclass __hash__ runs in Python, ≈ 0.4 µs a call), values only among distinct objects.
    """
    objects = dict(zip(map(id, options), options, strict=True)).values()
    return list(dict.fromkeys(objects))


def fast_builder(cls: type[T], validated_by_caller: bool = False) -> Callable[..., T]:
    """A constructor for a frozen slotted dataclass taking every field positionally.

    Equal to `cls(*values)` but ≈ 4x cheaper. A frozen dataclass's __init__ sets each field
    through object.__setattr__ (≈ 80 ns a field); this fills an instance of an unfrozen twin
    with the same slots, where each store is one specialised bytecode, and then retypes it as
    `cls` (CPython allows assigning __class__ between classes of identical slot layout). A
    sweep builds three such objects per target (PingReply, IcmpDetails, MeasurementResult),
    which made them the largest cost of a 65k-target sweep. Only for classes without
    __post_init__ (nothing to validate), unless `validated_by_caller`: __post_init__ does not run.
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if hasattr(cls, "__post_init__") and not validated_by_caller:
        raise TypeError(f"{cls.__name__} validates in __post_init__: use its constructor")
    if getattr(cls, "__slots__", None) != tuple(names) or cls.__bases__ != (object,):
        raise TypeError(f"{cls.__name__} must be a slotted dataclass without base classes")
    twin = type(f"_Unfrozen{cls.__name__}", (), {"__slots__": tuple(names)})
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, "twin": twin}
    body = "".join(f"    obj.{name} = {name}\n" for name in names)
    source = (
        f"def build({', '.join(names)}):\n    obj = new(twin)\n{body}"
        "    obj.__class__ = cls\n    return obj\n"
    )
    exec(source, namespace)  # the same technique dataclasses uses to write __init__
    builder: Callable[..., T] = namespace["build"]
    return builder
