"""Real BGP in the lab, planned purely: BIRD's and ExaBGP's configurations and the routes to expect.

Theory of operation. With `routing = "bgp"` (lab/topology.py) every AS router
runs BIRD 2 with one eBGP session per link (over the link's /30) and one
multihop session to the route collector (ExaBGP, AS64496, at .250 of the
collector's AS), as RIS's collectors peer with the routers that feed them. A
router originates its allocation (a static `blackhole` route inside BIRD,
never in the kernel) and passes on everything it learned; its kernel gets
what BIRD learned over BGP, with its own LAN address as source (so that a
traceroute hop maps to its AS, as with static routing).

The actions in force (lab/scenario.py) become each router's `RoutingPolicy`:

* cut, method "withdraw": the scope's routers neither announce to nor accept
  from the outside (their out-of-scope neighbours and the route collector):
  the outside sees withdrawals and the scope loses its routes out, as in
  Kazakhstan on 5 January 2022.
* hijack: the hijacker originates the victim's prefix too (the owner's
  announcement stays); every router keeps one best path, by AS path length.
* depref: both ends of a link give what they learn over it a lower local
  preference and prepend their AS three times to what they announce over it,
  so paths move away from the link where another one exists.
* cut, method "link": its sessions go down with the interfaces (the kernel
  states of lab/dataplane.py); "drop", "inside", loss and filters act on the
  data plane only, and routes stay.

Reconciling is "write every router's configuration again, `birdc configure`
where it changed": undoing an action is the same computation without it.
`expected_prefixes` says, from the same plan, which announced prefixes each
router's kernel should hold once BGP has converged, so that the lab can wait
for exactly that (lab/routing.py) instead of sleeping.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vantage.lab.dataplane import interfaces_down
from vantage.lab.scenario import Action
from vantage.lab.topology import ROUTE_COLLECTOR_ASN, Link, Topology

# Timers far below BGP's defaults (hold 90 s, keepalive 30 s, error wait 60-300 s) so that the lab
# converges, and notices a dead link, within a few seconds; RFC 4271 allows a hold time of 3 s.
HOLD_TIME_S = 3
KEEPALIVE_S = 1
CONNECT_RETRY_S = 1
ERROR_WAIT_S = (1, 3)
# BIRD's default local preference is 100; a less preferred link's routes get less.
DEPREF_LOCAL_PREFERENCE = 50
DEPREF_PREPENDS = 3
# The BIRD protocol name of a router's session to the route collector.
ROUTE_COLLECTOR_PROTOCOL = "route_collector"
# The ExaBGP `process` receiving every update as a JSON line: which programs run there, by name.
# "capture" appends them to a file (the lab's own evidence; tests/lab/test_bgp_lab.py reads it);
# "relay" hands them to the collector's route feed over a unix socket (collector/bgp/).
FEED_PROCESSES = ("capture", "relay")
# Both by default: the relay buffers and retries until the collector listens on its
# `--bgp-source exabgp:unix:PATH` (lab/product.py).
DEFAULT_FEED_PROCESSES = FEED_PROCESSES
CAPTURE_MODULE = "vantage.lab.bgp_capture"
RELAY_MODULE = "vantage.collector.bgp.relay"


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """What one router announces and accepts, given the actions in force."""

    asn: int
    originated: tuple[str, ...]  # prefixes it originates: its own, then any it hijacks
    closed_peers: frozenset[int]  # neighbours (ROUTE_COLLECTOR_ASN: the collector) it exchanges nothing with
    depref_peers: frozenset[int]  # neighbours whose link is less preferred
    sessions_down: frozenset[int]  # neighbours whose link is down (no session can come up)


def policies(topology: Topology, active: tuple[Action, ...]) -> dict[int, RoutingPolicy]:
    """Every router's policy under the actions in force."""
    result = {}
    for autonomous_system in topology.ases:
        asn = autonomous_system.asn
        originated = [autonomous_system.announced]
        closed: set[int] = set()
        depref: set[int] = set()
        for action in active:
            members = action.scope.member_asns(topology)
            if action.kind == "hijack" and members == (asn,):
                victim = topology.as_by_number(action.prefix_of).announced
                if victim not in originated:
                    originated.append(victim)
            elif action.kind == "cut" and action.method == "withdraw" and asn in members:
                closed.add(ROUTE_COLLECTOR_ASN)
                closed.update(
                    link.peer_of(asn) for link in topology.links_of(asn) if link.peer_of(asn) not in members
                )
            elif action.kind == "depref" and asn in members:
                depref.update(peer for peer in members if peer != asn)
        result[asn] = RoutingPolicy(
            asn=asn,
            originated=tuple(originated),
            closed_peers=frozenset(closed),
            depref_peers=frozenset(depref),
            sessions_down=frozenset(link.peer_of(asn) for link in _links_down(topology, active, asn)),
        )
    return result


def _links_down(topology: Topology, active: tuple[Action, ...], asn: int) -> tuple[Link, ...]:
    """The router's links on which no session can run: an interface at either end is down."""
    down = {a.asn: interfaces_down(topology, a.asn, active) for a in topology.ases}
    return tuple(
        link
        for link in topology.links_of(asn)
        if link.interface_on(link.asn_a) in down[link.asn_a]
        or link.interface_on(link.asn_b) in down[link.asn_b]
    )


def expected_prefixes(
    topology: Topology, active: tuple[Action, ...], *, without: frozenset[frozenset[int]] = frozenset()
) -> dict[int, frozenset[str]]:
    """Which announced prefixes each router's kernel holds (learned over BGP) once BGP has converged.

    A prefix spreads from the routers originating it along every session that
    is up and open both ways (the exporter does not close the peer, the peer
    does not close the exporter); a router reached holds it, an originator
    keeps its own static route and none in the kernel. `without`: links to
    leave out (to ask where a route could go if a link were not there).
    """
    plan = policies(topology, active)
    neighbours: dict[int, list[int]] = {asn: [] for asn in plan}
    for link in topology.links:
        if frozenset((link.asn_a, link.asn_b)) in without:
            continue
        a, b = plan[link.asn_a], plan[link.asn_b]
        if link.asn_b in a.sessions_down or link.asn_a in b.sessions_down:
            continue
        if link.asn_b in a.closed_peers or link.asn_a in b.closed_peers:
            continue  # withdrawal: closed one way means nothing flows either way (import and export none)
        neighbours[link.asn_a].append(link.asn_b)
        neighbours[link.asn_b].append(link.asn_a)
    origins: dict[str, set[int]] = {}
    for policy in plan.values():
        for prefix in policy.originated:
            origins.setdefault(prefix, set()).add(policy.asn)
    held: dict[int, set[str]] = {asn: set() for asn in plan}
    for prefix, originators in origins.items():
        seen = set(originators)
        queue = deque(sorted(originators))
        while queue:
            current = queue.popleft()
            for neighbour in neighbours[current]:
                if neighbour not in seen:
                    seen.add(neighbour)
                    held[neighbour].add(prefix)
                    queue.append(neighbour)
    return {asn: frozenset(prefixes) for asn, prefixes in held.items()}


def avoided_routes(topology: Topology, active: tuple[Action, ...]) -> dict[int, frozenset[tuple[str, str]]]:
    """Per router, (prefix, interface) pairs its kernel must not use once converged: a depref'd link's.

    At both ends of a less preferred link every prefix that is reachable
    without the link is routed elsewhere (local preference decides before
    path length).
    """
    avoided: dict[int, set[tuple[str, str]]] = {a.asn: set() for a in topology.ases}
    for action in active:
        if action.kind != "depref":
            continue
        asn_a, asn_b = action.scope.asns
        otherwise = expected_prefixes(topology, active, without=frozenset({frozenset((asn_a, asn_b))}))
        link = topology.link_between(asn_a, asn_b)
        for end in (asn_a, asn_b):
            avoided[end].update((prefix, link.interface_on(end)) for prefix in otherwise[end])
    return {asn: frozenset(pairs) for asn, pairs in avoided.items()}


def expected_sessions(topology: Topology, active: tuple[Action, ...]) -> dict[int, frozenset[str]] | None:
    """Per router, the BIRD protocols that must be Established once converged; None: not predictable.

    Link sessions run over their /30 and come up whenever the link is up.
    A router's multihop session to the route collector needs routes both
    ways (the collector's AS holding the router's prefix, the router the
    collector's); data-plane cuts can break the transit in between, so while
    one is in force the collector's sessions are not waited for.
    """
    plan = policies(topology, active)
    held = expected_prefixes(topology, active)
    data_plane = any(
        a.kind in ("loss", "filter") or (a.kind == "cut" and a.method in ("drop", "inside")) for a in active
    )
    collector = topology.as_by_number(topology.collector_asn)
    result = {}
    for autonomous_system in topology.ases:
        asn = autonomous_system.asn
        protocols = {
            link.interface_on(asn)
            for link in topology.links_of(asn)
            if link.peer_of(asn) not in plan[asn].sessions_down
        }
        if not data_plane and ROUTE_COLLECTOR_ASN not in plan[asn].closed_peers:
            reachable = asn == collector.asn or (
                collector.announced in held[asn] and autonomous_system.announced in held[collector.asn]
            )
            if reachable:
                protocols.add(ROUTE_COLLECTOR_PROTOCOL)
        result[asn] = frozenset(protocols)
    return result


def bird_config(topology: Topology, policy: RoutingPolicy) -> str:
    """The whole bird.conf of one router under its policy."""
    autonomous_system = topology.as_by_number(policy.asn)
    asn = policy.asn
    lines = [
        f"# AS{asn} ({autonomous_system.name}): written by vantage.lab.bgp, again on every action.",
        "log stderr all;",
        f"router id {autonomous_system.router_address};",
        "protocol device { scan time 10; }",
        "protocol static own_prefixes {",
        "  ipv4;",
        *(f"  route {prefix} blackhole;" for prefix in policy.originated),
        "}",
        "# The kernel gets what BGP learned, sourced from the router's LAN address.",
        "protocol kernel {",
        "  ipv4 {",
        "    import none;",
        "    export filter {",
        f"      if source = RTS_BGP then {{ krt_prefsrc = {autonomous_system.router_address}; accept; }}",
        "      reject;",
        "    };",
        "  };",
        "}",
        "template bgp lab_peer {",
        f"  hold time {HOLD_TIME_S};",
        f"  keepalive time {KEEPALIVE_S};",
        f"  connect retry time {CONNECT_RETRY_S};",
        f"  connect delay time {CONNECT_RETRY_S};",
        f"  error wait time {ERROR_WAIT_S[0]}, {ERROR_WAIT_S[1]};",
        "}",
    ]
    for link in topology.links_of(asn):
        peer = link.peer_of(asn)
        lines += [
            f"protocol bgp {link.interface_on(asn)} from lab_peer {{",
            f"  local {link.address_on(asn)} as {asn};",
            f"  neighbor {link.address_on(peer)} as {peer};",
            *_channel(
                asn, closed=peer in policy.closed_peers, depref=peer in policy.depref_peers, accepts=True
            ),
            "}",
        ]
    lines += [
        f"protocol bgp {ROUTE_COLLECTOR_PROTOCOL} from lab_peer {{",
        f"  local {autonomous_system.router_address} as {asn};",
        f"  neighbor {topology.route_collector_address} as {ROUTE_COLLECTOR_ASN};",
        "  multihop;",
        *_channel(asn, closed=ROUTE_COLLECTOR_ASN in policy.closed_peers, depref=False, accepts=False),
        "}",
    ]
    return "\n".join(lines) + "\n"


def _channel(asn: int, *, closed: bool, depref: bool, accepts: bool) -> list[str]:
    announce = "source ~ [RTS_STATIC, RTS_BGP]"
    if closed:
        imports, exports = "none", "none"
    elif depref:
        imports = f"filter {{ bgp_local_pref = {DEPREF_LOCAL_PREFERENCE}; accept; }}"
        prepends = " ".join(f"bgp_path.prepend({asn});" for _ in range(DEPREF_PREPENDS))
        exports = f"filter {{ if {announce} then {{ {prepends} accept; }} reject; }}"
    else:
        imports, exports = "all", f"where {announce}"
    return ["  ipv4 {", f"    import {imports if accepts else 'none'};", f"    export {exports};", "  };"]


def feed_process_argv(name: str, *, python: str, capture_path: str, socket_path: str) -> list[str]:
    """The command line of one ExaBGP `process` (FEED_PROCESSES); it reads JSON lines on stdin."""
    if name == "capture":
        return [python, "-m", CAPTURE_MODULE, capture_path]
    if name == "relay":
        return [python, "-m", RELAY_MODULE, socket_path]
    raise ValueError(f"unknown route feed process {name!r} (one of {', '.join(FEED_PROCESSES)})")


def exabgp_config(topology: Topology, processes: Mapping[str, Sequence[str]]) -> str:
    """ExaBGP 4.2's configuration: a passive session per AS router, every update to `processes` as JSON."""
    for name, argv in processes.items():
        if any(" " in word or not word for word in argv):
            raise ValueError(
                f"route feed process {name!r}: ExaBGP splits its command line on spaces: {argv!r}"
            )
    collector = topology.route_collector_address
    lines = ["# The lab's route collector: written by vantage.lab.bgp."]
    for name, argv in processes.items():
        lines += [f"process {name} {{", f"  run {' '.join(argv)};", "  encoder json;", "}"]
    for autonomous_system in topology.ases:
        lines += [
            f"neighbor {autonomous_system.router_address} {{",
            f"  router-id {collector};",
            f"  local-address {collector};",
            f"  local-as {ROUTE_COLLECTOR_ASN};",
            f"  peer-as {autonomous_system.asn};",
            "  passive true;",
            f"  hold-time {HOLD_TIME_S};",
            "  family { ipv4 unicast; }",
            "  api {",
            f"    processes [ {' '.join(processes)} ];",
            "    receive { parsed; update; }",
            "    neighbor-changes;",
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


def exabgp_environment(topology: Topology) -> dict[str, str]:
    """ExaBGP's settings (`exabgp_<section>_<option>` variables): listen on the collector's address."""
    return {
        "exabgp_tcp_bind": topology.route_collector_address,
        "exabgp_tcp_port": "179",
        "exabgp_daemon_user": "root",  # it would drop to `nobody`, who cannot write the lab's files
        "exabgp_daemon_daemonize": "false",
        "exabgp_api_cli": "false",  # no control pipes in /run/exabgp
        "exabgp_log_destination": "stdout",
    }
