"""The files the lab hands to the product, exactly as a user would: IP-to-AS, IP-to-country, targets.

The lab's address plan is invented, so no real dataset knows it; the lab writes
its own in the ip-location-db CSV forms the collector reads for real data
(`start,end,asn,org` and `start,end,cc`, no header): one row per AS for its
whole allocation (infrastructure /24 and host blocks), so the collector's
discovery finds the host blocks the way it finds a real AS's /24s. Target
lists are in the project's own CSV form (`target,protocols,country,asn,tags`):
every target host (`targets_csv`, the list the acceptance scenario runs on),
or only the hosts on a test list (`inside_out_targets_csv`: the inside-out targets,
when discovery finds everything else). Country and AS of the targets are left
empty on purpose: the collector looks them up in the generated datasets, as
it does for a user's list. Pure: text in, text out.
"""

from __future__ import annotations

import ipaddress
import math

from vantage.lab.topology import Topology
from vantage.probe.engine.model import TracerouteOptions

TARGETS_HEADER = "target,protocols,country,asn,tags"


def _ranges(topology: Topology) -> list[tuple[str, str, int, str, str]]:
    rows = []
    for autonomous_system in topology.ases:
        network = ipaddress.ip_network(autonomous_system.announced)
        rows.append(
            (
                str(network.network_address),
                str(network.broadcast_address),
                autonomous_system.asn,
                autonomous_system.name,
                autonomous_system.country,
            )
        )
    return sorted(rows, key=lambda row: ipaddress.ip_address(row[0]))


def asn_csv(topology: Topology) -> str:
    """ip-location-db ASN form: start,end,asn,org (org quoted when it holds a comma)."""
    lines = []
    for start, end, asn, name, _ in _ranges(topology):
        organisation = f'"{name}"' if "," in name else name
        lines.append(f"{start},{end},{asn},{organisation}")
    return "\n".join(lines) + "\n"


def country_csv(topology: Topology) -> str:
    """ip-location-db country form: start,end,cc."""
    return "\n".join(f"{start},{end},{country}" for start, end, _, _, country in _ranges(topology)) + "\n"


def targets_csv(topology: Topology, *, test_lists_only: bool = False) -> str:
    """Every target host: ICMP, DNS (its own dnsmasq, with the answer it must give), TCP/80 and HTTP.

    Hosts on a test list (e.g. `lists = ["KZ"]`) carry `list:KZ` so that
    probes inside KZ measure them inside-out, with controls elsewhere.
    `test_lists_only`: only those hosts.
    """
    lines = [TARGETS_HEADER]
    for autonomous_system in topology.ases:
        for host in autonomous_system.hosts:
            if test_lists_only and not host.lists:
                continue
            list_tags = [f"list:{name}" for name in host.lists]
            tags = [f"qname:{host.dns_name}", "qtype:A", f"expect:{host.address}", "port:80", *list_tags]
            lines.append(f"{host.address},icmp;dns;tcp,,,{';'.join(tags)}")
            lines.append(f"http://{host.address}/,http,,,{';'.join(list_tags)}")
    return "\n".join(lines) + "\n"


def inside_out_targets_csv(topology: Topology) -> str:
    """The hosts on a test list only: the inside-out targets a discovering lab still imports."""
    return targets_csv(topology, test_lists_only=True)


def census_slots_per_round(topology: Topology) -> int:
    """The most census echo requests one /24 gets in one round when censused every census_seconds.

    The collector spreads a block's 256 slots evenly over the census period less one round
    (collector/discovery/census.py), so a round holds at most ceil(256 L / (P - L)) of them.
    """
    round_s, census_s = topology.round_seconds, topology.census_seconds
    return math.ceil(256 * round_s / (census_s - round_s))


def discovery_budget_per_hour(topology: Topology) -> int:
    """`--discovery-budget` for the lab: exactly what a census of a /24 every census_seconds needs.

    The collector's default (15 per /24 per hour) is for censuses of a day; a lab censusing in
    seconds needs far more, and giving it no more than that keeps the budget a real bound the
    tests can check against the kernel's counters.
    """
    return census_slots_per_round(topology) * math.ceil(3600 / topology.round_seconds)


def discovery_rate_pps(topology: Topology) -> int:
    """`--discovery-rate` for the lab: every block of the lab at its busiest round, never capped."""
    blocks = sum(ipaddress.ip_network(a.announced).num_addresses // 256 for a in topology.ases)
    return math.ceil(blocks * census_slots_per_round(topology) / topology.round_seconds)


# The probe's own default rate cap (`vantage probe run --max-rate`, docs/probe.md).
PROBE_DEFAULT_MAX_RATE = 100


def traces_per_probe_round(topology: Topology) -> int:
    """The most traceroutes one probe gets in one round: one towards every other AS.

    The collector traces an AS (baseline or on demand) from at most one probe per probe AS and
    never from inside it (collector/assignment/traces.py); while a cut lasts, every cut AS is
    traced every round, on top of the baseline of the others.
    """
    return max(0, len(topology.ases) - 1)


def trace_rate_pps(topology: Topology) -> int:
    """Packets per second a probe's traceroutes can need: every trace to max_ttl, over a round.

    The probe's own count of a trace's packets (probe/engine/model.py's defaults, which the
    collector's trace tasks keep): 30 TTLs x 3 probes = 90. Most traces stop far earlier, so
    this is a bound the rounds stay well inside.
    """
    packets = traces_per_probe_round(topology) * TracerouteOptions().max_probes
    return math.ceil(packets / topology.round_seconds)


def probe_max_rate(topology: Topology) -> int:
    """`--max-rate` for the lab's probes: room for traceroutes and the census on top of the
    usual measurements.

    A probe paces a round's packets under its rate cap. The lab's collector traces (lab/product.py
    passes `--traceroutes`); at the default 100 per second a round with traces towards a cut AS
    stretched the sending over most of a 2-second round, with the timeouts after it past its end:
    the probe's results of the round came after the round was computed (the round then judged from
    fewer vantage points, even UNKNOWN) and the probe skipped the next round. A round's census
    share would do the same. Any one probe never gets more than the whole campaign's rate.
    """
    rate = PROBE_DEFAULT_MAX_RATE + trace_rate_pps(topology)
    if not topology.discovers_targets:
        return rate
    return rate + discovery_rate_pps(topology)
