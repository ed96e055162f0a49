"""What one probe is asked to do with one target over one protocol: TaskSpec, and how it is built.

A TaskSpec carries every field of a vantage.v1 Task (the gRPC layer converts; this module knows
no protobuf). Fields left 0 or "" mean "the probe's default" (ICMP count, timeouts, DNS port).

Per protocol (see docs/assignment.md):
- ICMP needs the target's address.
- TCP needs the address and a port (tag port:N, or the URL's port).
- DNS to an address target asks that server `qname` / `qtype` (tags), default "." SOA, which any
  resolver or authoritative server answers or refuses. DNS for a host name or URL target asks the
  configured resolver (AssignmentConfig.dns_resolver_address) for the host's A record, and is
  skipped when none is configured: the probe engine always needs a server address.
- HTTP fetches the target's URL (or http://ADDRESS/ or http://NAME/ for other targets); with an
  address the probe connects there and sends the URL's host name (like curl --resolve).
`expect:ADDR` tags become the DNS expected answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from vantage.collector.assignment.rendezvous import pair_weight, stable_hash64
from vantage.kinds import Protocol, TaskKind

DEFAULT_DNS_QUERY_NAME = "."  # the root: every DNS server answers or refuses it (docs/assignment.md)
DEFAULT_DNS_QUERY_TYPE = "SOA"
DEFAULT_RESOLVE_QUERY_TYPE = "A"  # what a browser asks first for a test-list URL's host


@dataclass(frozen=True, slots=True)
class TaskTemplate:
    """A task without its probe: what to measure, and what a probe needs to be able to."""

    protocol: Protocol
    target_id: str
    address: str = ""
    name: str = ""
    port: int = 0
    url: str = ""
    query_name: str = ""
    query_type: str = ""
    expected: tuple[str, ...] = ()
    needs_ipv6: bool = False
    needs_icmp: bool = False
    identity_hash: int = 0  # stable_hash64 of target and protocol: the basis of task ids


@dataclass(frozen=True, slots=True)
class TaskSpec:
    task_id: str  # f"r{round}-{16 hex}", deterministic from round, probe, target, protocol, kind
    kind: TaskKind
    protocol: Protocol
    target_id: str
    address: str = ""  # IP to measure / connect to / DNS server; "" only for HTTP by name
    name: str = ""  # host name (Host header and SNI for HTTP)
    port: int = 0  # TCP port or DNS server port (0 = 53)
    url: str = ""  # HTTP only
    count: int = 0  # ICMP echo requests; 0 = the probe's default
    interval_ms: int = 0  # ICMP gap between requests; 0 = the probe's default
    timeout_ms: int = 0  # 0 = the probe's per-protocol default
    query_name: str = ""  # DNS only
    query_type: str = ""  # DNS only
    expected: tuple[str, ...] = ()  # DNS: answers outside this set are OUTCOME_MISMATCH


_KIND_SALT = {kind: stable_hash64(f"kind:{kind.name}") for kind in TaskKind}


def task_id(round_number: int, probe_hash: int, template: TaskTemplate, kind: TaskKind) -> str:
    """f"r{round}-{16 hex}": the same round, probe, target, protocol and kind give the same id."""
    return f"r{round_number}-{pair_weight(probe_hash ^ _KIND_SALT[kind], template.identity_hash):016x}"


@dataclass(frozen=True, slots=True)
class TaskMaker:
    """Turns templates into one round's tasks, with the configured ICMP and timeout options."""

    round_number: int
    icmp_count: int = 0
    icmp_interval_ms: int = 0
    timeout_ms: int = 0

    def make(self, template: TaskTemplate, probe_hash: int, kind: TaskKind) -> TaskSpec:
        is_icmp = template.needs_icmp
        return TaskSpec(
            task_id(self.round_number, probe_hash, template, kind),
            kind,
            template.protocol,
            template.target_id,
            template.address,
            template.name,
            template.port,
            template.url,
            self.icmp_count if is_icmp else 0,
            self.icmp_interval_ms if is_icmp else 0,
            self.timeout_ms,
            template.query_name,
            template.query_type,
            template.expected,
        )


def build_templates(
    *,
    target_id: str,
    address: str,
    name: str,
    url: str,
    port: int,
    protocols: tuple[Protocol, ...],
    tags: tuple[str, ...],
    dns_resolver_address: str,
) -> list[TaskTemplate]:
    """One template per protocol the target can be measured with (others are skipped silently)."""
    host = name or (urlsplit(url).hostname or "" if url else "")
    expected = tuple(tag[7:] for tag in tags if tag.startswith("expect:"))
    qname = next((tag[6:] for tag in tags if tag.startswith("qname:")), "")
    qtype = next((tag[6:] for tag in tags if tag.startswith("qtype:")), "")
    v6 = ":" in address or (not address and ":" in host)
    templates: list[TaskTemplate] = []
    for protocol in protocols:
        identity = stable_hash64(f"{target_id}|{protocol.name}")
        if protocol is Protocol.ICMP and address:
            templates.append(
                TaskTemplate(
                    protocol, target_id, address, name, needs_ipv6=v6, needs_icmp=True, identity_hash=identity
                )
            )
        elif protocol is Protocol.TCP and address and port:
            templates.append(
                TaskTemplate(protocol, target_id, address, name, port, needs_ipv6=v6, identity_hash=identity)
            )
        elif protocol is Protocol.DNS and address and not url:
            templates.append(
                TaskTemplate(
                    protocol,
                    target_id,
                    address,
                    name,
                    port,
                    query_name=qname or DEFAULT_DNS_QUERY_NAME,
                    # "." SOA by default; a qname without a qtype asks for its A record
                    query_type=qtype or (DEFAULT_RESOLVE_QUERY_TYPE if qname else DEFAULT_DNS_QUERY_TYPE),
                    expected=expected,
                    needs_ipv6=v6,
                    identity_hash=identity,
                )
            )
        elif protocol is Protocol.DNS and host and dns_resolver_address:
            templates.append(
                TaskTemplate(
                    protocol,
                    target_id,
                    dns_resolver_address,
                    host,
                    query_name=qname or host,
                    query_type=qtype or DEFAULT_RESOLVE_QUERY_TYPE,
                    expected=expected,
                    needs_ipv6=":" in dns_resolver_address,
                    identity_hash=identity,
                )
            )
        elif protocol is Protocol.HTTP and (url or address or host):
            templates.append(
                TaskTemplate(
                    protocol,
                    target_id,
                    address,
                    host,
                    url=url or _default_url(address, host, port),
                    needs_ipv6=v6,
                    identity_hash=identity,
                )
            )
    return templates


def _default_url(address: str, host: str, port: int) -> str:
    authority = host or (f"[{address}]" if ":" in address else address)
    if port and port != 80:
        authority = f"{authority}:{port}"
    return f"http://{authority}/"
