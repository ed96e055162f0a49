"""A lab topology: ASes, their hosts, links, probes and the collector, with an address plan.

Theory of operation. A topology file (TOML) names the ASes of a small Internet;
everything else is derived here, purely, so that the namespace builder only
executes a plan:

* Each AS, in file order, owns the next free prefix of the address plan
  (198.18.0.0/15 by default, the benchmarking range) aligned to its size: a
  /24 by default (so AS number k owns the k-th /24), larger when its
  `[as.space]` table asks for more (`prefix_length = 22`: four /24s). The
  first /24 of an AS's allocation is its infrastructure: its router is .1 on
  a bridge called "lan", its target hosts are .10, .11, ..., its probe (if
  any) .100 and the collector (if it sits there) .200. The other /24s are its
  host blocks: every address in them exists (lab/netns.py), but only a
  sparse, seeded set answers ICMP echo (lab/responders.py plans which, and
  when: some blocks entirely dark, some hosts flapping), so that a target
  list can only be found by discovery, not written by hand.
* Links between ASes are point-to-point /30s carved from the last /20 of the
  plan; they belong to no AS in the generated dataset (infrastructure).
* Routing (`routing = "static" | "bgp"`): "static" (the default) installs
  shortest-path routes over the link graph (ties broken by the lowest AS
  number), as a converged BGP would give on such a small graph; "bgp" runs a
  real BIRD 2 in every router with eBGP sessions over the links, and the
  kernel routes are the ones BIRD learned (lab/bgp.py, lab/routing.py), with
  a route collector (ExaBGP, AS64496) at .250 of the collector's AS.

Loading never touches the system: `parse_topology(text)` validates and returns
frozen values; `load_topology(path)` only reads the file.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("transit", "access", "mobile", "hosting")
PROTOCOLS = ("icmp", "dns", "http")
# RFC 2544's benchmarking range: never routed on the Internet, so nothing the
# lab does can leak to a real network even by mistake.
DEFAULT_ADDRESS_PLAN = "198.18.0.0/15"
# Rounds of a few seconds keep the demo to a few minutes (a real collector uses 300 s).
DEFAULT_ROUND_SECONDS = 3
HOST_FIRST_OCTET = 10
PROBE_OCTET = 100
COLLECTOR_OCTET = 200
# The route collector (ExaBGP) in the collector's AS, peering with every router as RIS's collectors do.
ROUTE_COLLECTOR_OCTET = 250
# RFC 5398's documentation range (64496-64511): never a real network's number nor a lab AS's.
ROUTE_COLLECTOR_ASN = 64496
ROUTINGS = ("static", "bgp")
ROUTER_OCTET = 1
MAX_HOSTS_PER_AS = PROBE_OCTET - HOST_FIRST_OCTET
LAN_INTERFACE = "lan"
LINK_INTERFACE_PREFIX = "to"
# Responder plans are seeded (lab/responders.py): the same topology file gives the same hosts.
DEFAULT_SEED = 2022
# How long a flapping host keeps answering (or not) before its next period.
DEFAULT_FLAP_SECONDS = 15
# A lab with host blocks finds its targets by discovery, censusing every address once per this
# many rounds (`--census-period`); a real deployment censuses once a day.
DEFAULT_CENSUS_ROUNDS = 10
INFRASTRUCTURE_PREFIX_LENGTH = 24
# A host block's addresses .1-.254 can answer (.0 and .255 never: many scanners skip them).
RESPONDER_OCTETS = range(1, 255)


class TopologyError(ValueError):
    """The topology file is invalid; the message names the field."""


@dataclass(frozen=True, slots=True)
class Host:
    """A target host inside an AS: answers ICMP, DNS and HTTP."""

    name: str
    address: str
    lists: tuple[str, ...]  # test lists it belongs to ("KZ", "global"): inside-out targets

    @property
    def dns_name(self) -> str:
        return f"{self.name}.lab"


@dataclass(frozen=True, slots=True)
class AddressSpace:
    """An AS's host blocks (the /24s of its allocation after its infrastructure /24) and how sparse they are.

    Which addresses answer is planned from these counts by lab/responders.py.
    """

    blocks: tuple[str, ...] = ()  # e.g. ("198.18.5.0/24", "198.18.6.0/24", "198.18.7.0/24")
    dark_blocks: int = 0  # blocks in which nothing answers
    responders_per_block: int = 0  # addresses answering in each other block
    flapping_per_block: int = 0  # of those, how many answer only in some flap periods


@dataclass(frozen=True, slots=True)
class AutonomousSystem:
    asn: int
    name: str
    country: str
    role: str
    prefix: str  # the infrastructure /24, e.g. "198.18.1.0/24"
    router_address: str
    hosts: tuple[Host, ...]
    probe_address: str | None  # None: no probe in this AS
    allocation: str = ""  # all of its address space, e.g. "198.18.4.0/22" ("" : just `prefix`)
    space: AddressSpace = AddressSpace()

    @property
    def announced(self) -> str:
        """The one prefix the AS announces (its allocation): what other routers route to it."""
        return self.allocation or self.prefix


@dataclass(frozen=True, slots=True)
class Link:
    """A point-to-point link between two AS routers (a /30)."""

    index: int
    asn_a: int
    asn_b: int
    address_a: str  # router A's address on the link
    address_b: str
    prefix_length: int

    def interface_on(self, asn: int) -> str:
        """The name of the link's interface inside the router of `asn` ("to<peer>")."""
        return f"{LINK_INTERFACE_PREFIX}{self.peer_of(asn)}"

    def peer_of(self, asn: int) -> int:
        if asn == self.asn_a:
            return self.asn_b
        if asn == self.asn_b:
            return self.asn_a
        raise KeyError(f"AS{asn} is not on link {self.asn_a}-{self.asn_b}")

    def address_on(self, asn: int) -> str:
        return self.address_a if asn == self.asn_a else self.address_b


@dataclass(frozen=True, slots=True)
class Topology:
    name: str
    round_seconds: int
    address_plan: str
    ases: tuple[AutonomousSystem, ...]
    links: tuple[Link, ...]
    collector_asn: int
    collector_address: str
    seed: int = DEFAULT_SEED
    flap_seconds: int = DEFAULT_FLAP_SECONDS
    census_seconds: int = DEFAULT_CENSUS_ROUNDS * DEFAULT_ROUND_SECONDS
    routing: str = "static"  # one of ROUTINGS

    @property
    def route_collector_address(self) -> str:
        """The route collector's address: .250 of the collector AS's infrastructure /24."""
        network = ipaddress.ip_network(self.as_by_number(self.collector_asn).prefix)
        return str(network.network_address + ROUTE_COLLECTOR_OCTET)

    @property
    def discovers_targets(self) -> bool:
        """True when some AS has host blocks: its targets are found by discovery, not listed."""
        return any(a.space.blocks for a in self.ases)

    def as_by_number(self, asn: int) -> AutonomousSystem:
        for autonomous_system in self.ases:
            if autonomous_system.asn == asn:
                return autonomous_system
        raise KeyError(f"no AS{asn} in topology {self.name!r}")

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(sorted({a.country for a in self.ases}))

    def ases_in(self, country: str) -> tuple[AutonomousSystem, ...]:
        return tuple(a for a in self.ases if a.country == country)

    @property
    def probe_ases(self) -> tuple[AutonomousSystem, ...]:
        return tuple(a for a in self.ases if a.probe_address is not None)

    def links_of(self, asn: int) -> tuple[Link, ...]:
        return tuple(link for link in self.links if asn in (link.asn_a, link.asn_b))

    def host(self, reference: str) -> Host:
        """A host by "ASN:name" (as scenarios refer to it) or by address."""
        for autonomous_system in self.ases:
            for host in autonomous_system.hosts:
                if reference in (f"{autonomous_system.asn}:{host.name}", host.address):
                    return host
        raise KeyError(f"no host {reference!r} (write ASN:name, e.g. 24940:news)")

    def next_hops(self, asn: int) -> dict[int, int]:
        """For the router of `asn`: destination AS -> neighbouring AS to send through.

        Breadth-first search from `asn`, visiting neighbours in ascending AS
        order, so equal-length paths always resolve the same way.
        """
        neighbours: dict[int, list[int]] = {a.asn: [] for a in self.ases}
        for link in self.links:
            neighbours[link.asn_a].append(link.asn_b)
            neighbours[link.asn_b].append(link.asn_a)
        first_hop: dict[int, int] = {}
        queue: deque[int] = deque()
        for neighbour in sorted(neighbours[asn]):
            if neighbour not in first_hop:
                first_hop[neighbour] = neighbour
                queue.append(neighbour)
        while queue:
            current = queue.popleft()
            for neighbour in sorted(neighbours[current]):
                if neighbour != asn and neighbour not in first_hop:
                    first_hop[neighbour] = first_hop[current]
                    queue.append(neighbour)
        return first_hop

    def link_between(self, asn_a: int, asn_b: int) -> Link:
        for link in self.links:
            if {link.asn_a, link.asn_b} == {asn_a, asn_b}:
                return link
        raise KeyError(f"no link between AS{asn_a} and AS{asn_b}")


def load_topology(path: Path) -> Topology:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TopologyError(f"cannot read topology {path}: {exc.strerror}") from exc
    return parse_topology(text, source=str(path))


def parse_topology(text: str, *, source: str = "<topology>") -> Topology:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(f"{source}: not valid TOML: {exc}") from exc
    return _build(document, source)


def _build(document: dict[str, Any], source: str) -> Topology:
    name = _field(document, "name", str, source, default=Path(source).stem)
    round_seconds = _field(document, "round_seconds", int, source, default=DEFAULT_ROUND_SECONDS)
    if round_seconds < 1:
        raise TopologyError(f"{source}: round_seconds must be at least 1")
    plan_text = _field(document, "address_plan", str, source, default=DEFAULT_ADDRESS_PLAN)
    try:
        plan = ipaddress.ip_network(plan_text)
    except ValueError as exc:
        raise TopologyError(f"{source}: address_plan {plan_text!r}: {exc}") from exc
    if not isinstance(plan, ipaddress.IPv4Network) or plan.prefixlen > 20:
        raise TopologyError(f"{source}: address_plan must be an IPv4 network of /20 or larger")

    seed = _field(document, "seed", int, source, default=DEFAULT_SEED)
    flap_seconds = _field(document, "flap_seconds", int, source, default=DEFAULT_FLAP_SECONDS)
    if flap_seconds < 1:
        raise TopologyError(f"{source}: flap_seconds must be at least 1")
    census_seconds = _field(
        document, "census_seconds", int, source, default=DEFAULT_CENSUS_ROUNDS * round_seconds
    )
    if census_seconds < 2 * round_seconds:
        raise TopologyError(f"{source}: census_seconds must be at least two rounds ({2 * round_seconds})")

    routing = _field(document, "routing", str, source, default="static")
    if routing not in ROUTINGS:
        raise TopologyError(f"{source}: routing must be one of {', '.join(ROUTINGS)}, got {routing!r}")

    raw_ases = document.get("as")
    if not isinstance(raw_ases, list) or not raw_ases:
        raise TopologyError(f"{source}: at least one [[as]] table is required")
    link_block = list(plan.subnets(new_prefix=20))[-1]
    plan_base = int(plan.network_address)
    # Allocations are laid out in /24 units from the plan's second /24 up to the link block.
    next_free_slot = 1
    slots_before_links = (int(link_block.network_address) - plan_base) >> 8

    ases: list[AutonomousSystem] = []
    seen_asns: set[int] = set()
    seen_hosts: set[str] = set()
    collector_asns: list[int] = []
    for index, raw in enumerate(raw_ases):
        where = f"{source}: [[as]] #{index + 1}"
        if not isinstance(raw, dict):
            raise TopologyError(f"{where}: must be a table")
        asn = _field(raw, "asn", int, where)
        where = f"{source}: AS{asn}"
        if not 0 < asn < 2**32:
            raise TopologyError(f"{where}: asn must be in 1..4294967295")
        if asn == ROUTE_COLLECTOR_ASN:
            raise TopologyError(f"{where}: AS{ROUTE_COLLECTOR_ASN} is the lab's route collector")
        if asn in seen_asns:
            raise TopologyError(f"{where}: AS number appears twice")
        seen_asns.add(asn)
        country = _field(raw, "country", str, where)
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            raise TopologyError(
                f"{where}: country must be an ISO 3166-1 alpha-2 code like KZ, got {country!r}"
            )
        role = _field(raw, "role", str, where, default="access")
        if role not in ROLES:
            raise TopologyError(f"{where}: role must be one of {', '.join(ROLES)}, got {role!r}")
        prefix_length, space_counts = _space_fields(raw, where)
        slots = 1 << (INFRASTRUCTURE_PREFIX_LENGTH - prefix_length)
        first_slot = -(-next_free_slot // slots) * slots  # aligned to its own size
        if first_slot + slots > slots_before_links:
            raise TopologyError(f"{source}: {len(raw_ases)} ASes do not fit the address plan {plan}")
        next_free_slot = first_slot + slots
        base = plan_base + (first_slot << 8)
        prefix = ipaddress.IPv4Network((base, INFRASTRUCTURE_PREFIX_LENGTH))
        allocation = ipaddress.IPv4Network((base, prefix_length))
        dark_blocks, responders, flapping = space_counts
        if dark_blocks > slots - 1:
            raise TopologyError(f"{where}: space.dark_blocks {dark_blocks} > its {slots - 1} host blocks")
        space = AddressSpace(
            blocks=tuple(str(block) for block in list(allocation.subnets(new_prefix=24))[1:]),
            dark_blocks=dark_blocks,
            responders_per_block=responders,
            flapping_per_block=flapping,
        )
        hosts = _hosts(raw, where, base, seen_hosts)
        has_probe = _field(raw, "probe", bool, where, default=False)
        if _field(raw, "collector", bool, where, default=False):
            collector_asns.append(asn)
        ases.append(
            AutonomousSystem(
                asn=asn,
                name=_field(raw, "name", str, where, default=f"AS{asn}"),
                country=country,
                role=role,
                prefix=str(prefix),
                router_address=str(ipaddress.IPv4Address(base + ROUTER_OCTET)),
                hosts=hosts,
                probe_address=str(ipaddress.IPv4Address(base + PROBE_OCTET)) if has_probe else None,
                allocation=str(allocation),
                space=space,
            )
        )
    if len(collector_asns) != 1:
        raise TopologyError(
            f"{source}: exactly one AS must have collector = true (found {len(collector_asns)})"
        )
    collector_asn = collector_asns[0]
    collector_base = int(
        ipaddress.ip_network(next(a.prefix for a in ases if a.asn == collector_asn)).network_address
    )
    links = _links(document.get("link", []), source, seen_asns, link_block)
    topology = Topology(
        name=name,
        round_seconds=round_seconds,
        address_plan=str(plan),
        ases=tuple(ases),
        links=links,
        collector_asn=collector_asn,
        collector_address=str(ipaddress.IPv4Address(collector_base + COLLECTOR_OCTET)),
        seed=seed,
        flap_seconds=flap_seconds,
        census_seconds=census_seconds,
        routing=routing,
    )
    _check_connected(topology, source)
    return topology


def _space_fields(raw: dict[str, Any], where: str) -> tuple[int, tuple[int, int, int]]:
    """An AS's `[as.space]` table: (prefix_length, (dark_blocks, responders, flapping)); none: a /24."""
    table = raw.get("space", {})
    if not isinstance(table, dict):
        raise TopologyError(f"{where}: space must be a table ([as.space])")
    where = f"{where} space"
    unknown = sorted(set(table) - {"prefix_length", "dark_blocks", "responders", "flapping"})
    if unknown:
        raise TopologyError(f"{where}: unknown field {unknown[0]!r}")
    prefix_length = _field(table, "prefix_length", int, where, default=INFRASTRUCTURE_PREFIX_LENGTH)
    if not 16 <= prefix_length <= INFRASTRUCTURE_PREFIX_LENGTH:
        raise TopologyError(f"{where}: prefix_length must be 16..24, got {prefix_length}")
    counts = tuple(
        _field(table, key, int, where, default=0) for key in ("dark_blocks", "responders", "flapping")
    )
    dark_blocks, responders, flapping = counts
    if min(counts) < 0:
        raise TopologyError(f"{where}: dark_blocks, responders and flapping must not be negative")
    if responders > len(RESPONDER_OCTETS):
        raise TopologyError(f"{where}: responders must be at most {len(RESPONDER_OCTETS)} per block")
    if flapping > responders:
        raise TopologyError(f"{where}: flapping ({flapping}) must not exceed responders ({responders})")
    return prefix_length, (dark_blocks, responders, flapping)


def _hosts(raw: dict[str, Any], where: str, base: int, seen_hosts: set[str]) -> tuple[Host, ...]:
    raw_hosts = raw.get("host", [{"name": f"as{raw['asn']}-h1"}, {"name": f"as{raw['asn']}-h2"}])
    if not isinstance(raw_hosts, list) or not raw_hosts:
        raise TopologyError(f"{where}: [[as.host]] must be a non-empty list of tables")
    if len(raw_hosts) > MAX_HOSTS_PER_AS:
        raise TopologyError(f"{where}: at most {MAX_HOSTS_PER_AS} hosts per AS")
    hosts = []
    for offset, raw_host in enumerate(raw_hosts):
        if not isinstance(raw_host, dict):
            raise TopologyError(f"{where}: each [[as.host]] must be a table")
        host_name = _field(raw_host, "name", str, f"{where} host #{offset + 1}")
        if not host_name or not all(c.isalnum() or c == "-" for c in host_name):
            raise TopologyError(f"{where}: host name {host_name!r} must be letters, digits and '-'")
        if host_name in seen_hosts:
            raise TopologyError(f"{where}: host name {host_name!r} is used twice in the topology")
        seen_hosts.add(host_name)
        lists = raw_host.get("lists", [])
        if not isinstance(lists, list) or not all(isinstance(item, str) for item in lists):
            raise TopologyError(f"{where}: host {host_name}: lists must be a list of strings")
        hosts.append(
            Host(
                name=host_name,
                address=str(ipaddress.IPv4Address(base + HOST_FIRST_OCTET + offset)),
                lists=tuple(lists),
            )
        )
    return tuple(hosts)


def _links(
    raw_links: Any, source: str, asns: set[int], link_block: ipaddress.IPv4Network
) -> tuple[Link, ...]:
    if not isinstance(raw_links, list):
        raise TopologyError(f"{source}: [[link]] must be a list of tables")
    slots = link_block.subnets(new_prefix=30)
    links: list[Link] = []
    seen: set[frozenset[int]] = set()
    for index, raw in enumerate(raw_links):
        where = f"{source}: [[link]] #{index + 1}"
        between = raw.get("between") if isinstance(raw, dict) else None
        if not (isinstance(between, list) and len(between) == 2 and all(isinstance(x, int) for x in between)):
            raise TopologyError(f"{where}: between must be a list of two AS numbers, e.g. [9198, 1299]")
        asn_a, asn_b = between
        for asn in between:
            if asn not in asns:
                raise TopologyError(f"{where}: AS{asn} is not defined in the topology")
        if asn_a == asn_b:
            raise TopologyError(f"{where}: a link needs two different ASes")
        if frozenset(between) in seen:
            raise TopologyError(f"{where}: AS{asn_a} and AS{asn_b} are already linked")
        seen.add(frozenset(between))
        slot = next(slots)
        links.append(
            Link(
                index=index,
                asn_a=asn_a,
                asn_b=asn_b,
                address_a=str(slot.network_address + 1),
                address_b=str(slot.network_address + 2),
                prefix_length=30,
            )
        )
    return tuple(links)


def _check_connected(topology: Topology, source: str) -> None:
    first = topology.ases[0].asn
    reachable = set(topology.next_hops(first)) | {first}
    unreachable = [a.asn for a in topology.ases if a.asn not in reachable]
    if unreachable:
        listed = ", ".join(f"AS{asn}" for asn in unreachable)
        raise TopologyError(f"{source}: {listed} not connected to AS{first} by any path of links")


def _field(table: dict[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    if key not in table:
        if default is None:
            raise TopologyError(f"{where}: missing required field {key!r}")
        return default
    value = table[key]
    # bool is a subclass of int: refuse `asn = true`.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TopologyError(f"{where}: {key} must be {kind.__name__}, got {value!r}")
    return value
