"""Topology files: the shipped ones load, the address plan and routing are right, bad files say why."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from vantage.lab.topology import TopologyError, load_topology, parse_topology

TOPOLOGIES = Path(__file__).resolve().parents[2] / "lab" / "topologies"

MINIMAL = """
name = "t"
[[as]]
asn = 64500
country = "SE"
role = "transit"
collector = true
probe = true
[[as]]
asn = 64501
country = "KZ"
[[link]]
between = [64500, 64501]
"""


def test_default_topology_meets_the_demo_brief() -> None:
    topology = load_topology(TOPOLOGIES / "default.toml")
    assert len(topology.ases) >= 8
    assert len(topology.countries) >= 3
    probes = topology.probe_ases
    assert len(probes) >= 4
    assert len({a.country for a in probes}) >= 3
    assert any(a.country == "KZ" for a in probes)
    assert topology.as_by_number(topology.collector_asn).role == "hosting"


def test_small_topology_loads() -> None:
    topology = load_topology(TOPOLOGIES / "small.toml")
    assert topology.round_seconds == 2
    assert len(topology.probe_ases) == 4


def test_addresses_stay_in_the_benchmarking_range_and_never_overlap() -> None:
    topology = load_topology(TOPOLOGIES / "default.toml")
    plan = ipaddress.ip_network("198.18.0.0/15")
    prefixes = [ipaddress.ip_network(a.prefix) for a in topology.ases]
    links = [ipaddress.ip_network(f"{link.address_a}/30", strict=False) for link in topology.links]
    everything = prefixes + links
    assert all(network.subnet_of(plan) for network in everything)
    for index, network in enumerate(everything):
        for other in everything[index + 1 :]:
            assert not network.overlaps(other)
    for autonomous_system in topology.ases:
        prefix = ipaddress.ip_network(autonomous_system.prefix)
        for host in autonomous_system.hosts:
            assert ipaddress.ip_address(host.address) in prefix
    assert ipaddress.ip_address(topology.collector_address) in ipaddress.ip_network(
        topology.as_by_number(topology.collector_asn).prefix
    )


def test_next_hops_follow_shortest_paths_deterministically() -> None:
    topology = load_topology(TOPOLOGIES / "small.toml")
    # 29355 hangs off 9198 only: everything goes through 9198.
    assert set(topology.next_hops(29355).values()) == {9198}
    # From 24940 (linked only to 1299) everything goes through the transit core.
    assert set(topology.next_hops(24940).values()) == {1299}
    # 9198 reaches 1299 directly, not through 12389.
    assert topology.next_hops(9198)[1299] == 1299
    assert topology.next_hops(9198) == topology.next_hops(9198)


def test_minimal_topology_defaults() -> None:
    topology = parse_topology(MINIMAL)
    kz = topology.as_by_number(64501)
    assert kz.role == "access" and kz.probe_address is None
    assert [h.name for h in kz.hosts] == ["as64501-h1", "as64501-h2"]
    assert kz.hosts[0].address == "198.18.2.10"
    assert topology.collector_address == "198.18.1.200"
    assert topology.host("64501:as64501-h2").address == "198.18.2.11"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('country = "KZ"', 'country = "kz"'), "country must be"),
        (lambda t: t.replace('role = "transit"', 'role = "tier1"'), "role must be one of"),
        (lambda t: t.replace("collector = true", ""), "exactly one AS must have collector"),
        (
            lambda t: t.replace("between = [64500, 64501]", "between = [64500, 64999]"),
            "AS64999 is not defined",
        ),
        (lambda t: t.replace("asn = 64501", "asn = 64500"), "appears twice"),
        (lambda t: t.replace("[[link]]\nbetween = [64500, 64501]", ""), "not connected"),
        (lambda t: t.replace("asn = 64500", 'asn = "64500"'), "asn must be int"),
        (lambda t: t + "[[as\n", "not valid TOML"),
    ],
)
def test_invalid_topologies_name_the_problem(change: object, message: str) -> None:
    text = change(MINIMAL)  # type: ignore[operator]
    with pytest.raises(TopologyError, match=message):
        parse_topology(text)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read topology"):
        load_topology(tmp_path / "nope.toml")
