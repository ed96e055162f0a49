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

from vantage.lab.topology import Topology

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
