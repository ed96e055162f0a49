"""What every router's data plane should look like, given the staged actions in force.

Theory of operation. The runner never edits routers incrementally: after each
action it recomputes, purely, the whole desired state of every router — which
of its link interfaces are down, one route per remote AS prefix (via a
neighbour, or `unreachable`), its nftables ruleset, the netem delays on its
border, and whether it runs a lying DNS server — and the netns adapter
reconciles the kernel to it. Routes are per AS, to the one prefix it
announces (its allocation: infrastructure /24 and host blocks together).
Restoring is then just "the same computation
without that action", and nothing can be left half-undone.

Semantics, per action kind (scope S = the ASes the action names):
* cut, method "link": the in-scope routers take down their interfaces to
  out-of-scope peers; those routers lose the routes through them (they answer
  "network unreachable"), while the outside keeps pointing at a dead link (its
  probes time out) — as when a country pulls its cables.
  With BGP routing the sessions over those links go down with them, and
  the routes over them are withdrawn everywhere.
* cut, method "withdraw": every route between S and the rest becomes
  `unreachable` on every router, as after a BGP withdrawal. With BGP routing
  (topology `routing = "bgp"`) no route is computed here: BIRD installs the
  routes it learned, and a withdrawal is its filters' business (lab/bgp.py).
* cut, method "drop": a data-plane cut with routes intact: nftables on S's
  border interfaces drops every packet forwarded across them (the routers'
  own BGP sessions are not forwarded, so they stay up).
* cut, method "inside": S's routers forward nothing from outside into their LAN
  (nftables); they still answer themselves, so traceroutes end inside S.
* loss: nftables on S's border interfaces drops `numgen random mod 100 < N`
  packets each way.
* filter: nftables on S's routers, on traffic their own users send (it enters
  from the "lan" bridge) to the listed hosts: drop, reject (ICMP
  administratively prohibited), TCP reset, or DNS rewritten (DNAT to a lying
  DNS server on the router). Traffic inside one AS is bridged, not routed, so
  filters act on traffic leaving the users' AS.
"""

from __future__ import annotations

from dataclasses import dataclass

from vantage.lab.scenario import Action, Scope
from vantage.lab.topology import LAN_INTERFACE, Topology

NFT_TABLE = "vlab"


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    via: str | None  # None: unreachable


@dataclass(frozen=True, slots=True)
class RouterState:
    asn: int
    interfaces_down: frozenset[str]
    routes: tuple[Route, ...]
    nft_ruleset: str
    delays_ms: tuple[tuple[str, int], ...]  # (interface, delay) pairs, sorted
    runs_liar_dns: bool
    # The source of what the router itself sends on its routes (`src`), its ICMP errors included:
    # its address in its own AS, so that a traceroute's hop maps to the AS (a link /30 is in none).
    source_address: str = ""


def apply_action(active: tuple[Action, ...], action: Action) -> tuple[Action, ...]:
    """The actions in force after `action` (restore and clear remove, others add)."""
    if action.kind == "restore":
        undone = ("cut", "hijack", "depref")
        return tuple(a for a in active if not (a.kind in undone and _covers(action.scope, a.scope)))
    if action.kind == "clear":
        removed = ("loss", "delay", "filter")
        return tuple(a for a in active if not (a.kind in removed and _covers(action.scope, a.scope)))
    if action.kind in ("loss", "delay"):
        # A new loss (delay) on a scope replaces the previous one there.
        active = tuple(a for a in active if not (a.kind == action.kind and a.scope == action.scope))
    return (*active, action)


def _covers(given: Scope, applied: Scope) -> bool:
    return given.everything or given == applied


def desired_state(topology: Topology, active: tuple[Action, ...]) -> dict[int, RouterState]:
    states = {}
    for autonomous_system in topology.ases:
        asn = autonomous_system.asn
        down = interfaces_down(topology, asn, active)
        states[asn] = RouterState(
            asn=asn,
            interfaces_down=down,
            routes=_routes(topology, asn, active, down),
            nft_ruleset=_nft_ruleset(topology, asn, active),
            delays_ms=_delays(topology, asn, active),
            runs_liar_dns=any(
                a.kind == "filter"
                and a.filter_action == "dns-rewrite"
                and asn in a.scope.member_asns(topology)
                for a in active
            ),
            source_address=autonomous_system.router_address,
        )
    return states


def _border_interfaces(topology: Topology, asn: int, members: tuple[int, ...]) -> list[str]:
    """The router's interfaces to peers outside `members` (empty if asn is outside)."""
    if asn not in members:
        return []
    return sorted(
        link.interface_on(asn) for link in topology.links_of(asn) if link.peer_of(asn) not in members
    )


def interfaces_down(topology: Topology, asn: int, active: tuple[Action, ...]) -> frozenset[str]:
    down: set[str] = set()
    for action in active:
        if action.kind == "cut" and action.method == "link":
            down.update(_border_interfaces(topology, asn, action.scope.member_asns(topology)))
    return frozenset(down)


def _routes(
    topology: Topology, asn: int, active: tuple[Action, ...], down: frozenset[str]
) -> tuple[Route, ...]:
    if topology.routing == "bgp":
        return ()  # BIRD's kernel protocol installs what the router learned
    withdrawn_scopes = [
        set(a.scope.member_asns(topology)) for a in active if a.kind == "cut" and a.method == "withdraw"
    ]
    routes = []
    for destination, neighbour in sorted(topology.next_hops(asn).items()):
        prefix = topology.as_by_number(destination).announced
        link = topology.link_between(asn, neighbour)
        withdrawn = any((asn in scope) != (destination in scope) for scope in withdrawn_scopes)
        if withdrawn or link.interface_on(asn) in down:
            routes.append(Route(prefix, None))
        else:
            routes.append(Route(prefix, link.address_on(neighbour)))
    return tuple(routes)


def _delays(topology: Topology, asn: int, active: tuple[Action, ...]) -> tuple[tuple[str, int], ...]:
    delays: dict[str, int] = {}
    for action in active:
        if action.kind == "delay":
            for interface in _border_interfaces(topology, asn, action.scope.member_asns(topology)):
                delays[interface] = delays.get(interface, 0) + action.delay_ms
    return tuple(sorted(delays.items()))


def _nft_ruleset(topology: Topology, asn: int, active: tuple[Action, ...]) -> str:
    forward: list[str] = []
    prerouting: list[str] = []
    router_address = topology.as_by_number(asn).router_address
    for action in active:
        members = action.scope.member_asns(topology)
        if asn not in members:
            continue
        if action.kind == "filter":
            addresses = ", ".join(topology.host(reference).address for reference in action.hosts)
            match = f'iifname "{LAN_INTERFACE}" ip daddr {{ {addresses} }}'
            if action.filter_action == "dns-rewrite":
                for transport in ("udp", "tcp"):
                    prerouting.append(f"{match} {transport} dport 53 dnat ip to {router_address}")
                continue
            for protocol in action.protocols:
                forward.extend(_filter_rules(match, protocol, action.port, action.filter_action))
        elif action.kind == "cut" and action.method == "inside":
            # The router answers (its own ICMP is not forwarded), its hosts are gone: a cut
            # inside the AS, behind its border router (what a traceroute tells from "link").
            forward.append(f'iifname != "{LAN_INTERFACE}" oifname "{LAN_INTERFACE}" drop')
        elif action.kind == "loss" or (action.kind == "cut" and action.method == "drop"):
            border = _border_interfaces(topology, asn, members)
            if border:
                names = ", ".join(f'"{name}"' for name in border)
                # numgen's range is 0..99: 100 % (and a drop cut) is an unconditional drop.
                percent = action.percent if action.kind == "loss" else 100
                chance = f" numgen random mod 100 < {percent}" if percent < 100 else ""
                for direction in ("iifname", "oifname"):
                    forward.append(f"{direction} {{ {names} }}{chance} drop")
    lines = [
        f"table inet {NFT_TABLE}",
        f"delete table inet {NFT_TABLE}",
        f"table inet {NFT_TABLE} {{",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
        *(f"    {rule}" for rule in forward),
        "  }",
        "  chain prerouting {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        *(f"    {rule}" for rule in prerouting),
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _filter_rules(match: str, protocol: str, port: int, verdict_name: str) -> list[str]:
    if protocol == "icmp":
        selectors = ["meta l4proto icmp"]
    elif protocol == "dns":
        selectors = ["udp dport 53", "tcp dport 53"]
    elif protocol == "http":
        selectors = ["tcp dport 80"]
    else:
        selectors = [f"tcp dport {port}"]
    rules = []
    for selector in selectors:
        if verdict_name == "reset":
            # A reset only exists for TCP; UDP (DNS) is dropped instead, as DPI boxes do.
            verdict = "reject with tcp reset" if selector.startswith("tcp") else "drop"
        elif verdict_name == "reject":
            verdict = "reject with icmpx admin-prohibited"
        else:
            verdict = "drop"
        rules.append(f"{match} {selector} {verdict}")
    return rules
