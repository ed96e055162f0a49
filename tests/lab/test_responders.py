"""The seeded responder plan, the topology's address space and the hosts namespace's nftables text (pure)."""

from __future__ import annotations

import csv
import io
import ipaddress
import random
from pathlib import Path

import pytest

from vantage.collector.discovery.census import campaign_tasks_per_round, check_round_fits
from vantage.collector.discovery.config import DiscoveryConfig
from vantage.lab.datasets import (
    PROBE_DEFAULT_MAX_RATE,
    asn_csv,
    census_slots_per_round,
    country_csv,
    discovery_budget_per_hour,
    discovery_rate_pps,
    inside_out_targets_csv,
    probe_max_rate,
    trace_rate_pps,
)
from vantage.lab.responders import (
    ALL_ON,
    block_counter_name,
    plan_responders,
    responders_update,
    space_ruleset,
)
from vantage.lab.topology import Topology, TopologyError, load_topology, parse_topology
from vantage.probe.engine.model import TracerouteOptions

TOPOLOGIES = Path(__file__).resolve().parents[2] / "lab" / "topologies"
DEFAULT = load_topology(TOPOLOGIES / "default.toml")
DISCOVERY = load_topology(TOPOLOGIES / "discovery.toml")

SPACED = """
[[as]]
asn = 64500
country = "SE"
collector = true
[[as]]
asn = 64501
country = "KZ"
[as.space]
prefix_length = 22
dark_blocks = 1
responders = 5
flapping = 2
[[as]]
asn = 64502
country = "KZ"
[[link]]
between = [64500, 64501]
[[link]]
between = [64501, 64502]
"""


def test_allocations_are_aligned_start_with_the_infrastructure_and_never_overlap() -> None:
    topology = parse_topology(SPACED)
    first, spaced, last = topology.ases
    assert (first.prefix, first.announced, first.space.blocks) == ("198.18.1.0/24", "198.18.1.0/24", ())
    assert spaced.allocation == "198.18.4.0/22" and spaced.prefix == "198.18.4.0/24"
    assert spaced.space.blocks == ("198.18.5.0/24", "198.18.6.0/24", "198.18.7.0/24")
    assert last.prefix == "198.18.8.0/24"  # the next free /24 after the /22
    for topology in (DEFAULT, DISCOVERY):
        networks = [ipaddress.ip_network(a.announced) for a in topology.ases]
        for index, network in enumerate(networks):
            assert network.subnet_of(ipaddress.ip_network(topology.address_plan))
            assert all(not network.overlaps(other) for other in networks[index + 1 :])
        for autonomous_system in topology.ases:
            assert len(autonomous_system.space.blocks) >= 3  # several /24s each


def test_datasets_map_each_whole_allocation_to_its_as_and_country() -> None:
    asn_rows = list(csv.reader(io.StringIO(asn_csv(DEFAULT))))
    country_rows = list(csv.reader(io.StringIO(country_csv(DEFAULT))))
    kazakhtelecom = DEFAULT.as_by_number(9198)
    row = next(r for r in asn_rows if r[2] == "9198")
    assert (
        (row[0], row[1])
        == ("198.18.24.0", "198.18.31.255")
        == (
            str(ipaddress.ip_network(kazakhtelecom.allocation).network_address),
            str(ipaddress.ip_network(kazakhtelecom.allocation).broadcast_address),
        )
    )
    assert ["198.18.24.0", "198.18.31.255", "KZ"] in country_rows


def test_the_plan_is_seeded_sparse_and_shaped_as_declared() -> None:
    plan = plan_responders(DEFAULT, random.Random(DEFAULT.seed))
    assert plan == plan_responders(DEFAULT, random.Random(DEFAULT.seed))
    assert plan != plan_responders(DEFAULT, random.Random(DEFAULT.seed + 1))
    for autonomous_system in DEFAULT.ases:
        space, blocks = autonomous_system.space, plan.of(autonomous_system.asn)
        assert tuple(b.block for b in blocks) == space.blocks
        assert sum(b.dark for b in blocks) == space.dark_blocks
        for block in blocks:
            network = ipaddress.ip_network(block.block)
            addresses = block.ever_responding
            assert len(addresses) == (0 if block.dark else space.responders_per_block)
            assert len(block.flapping) == (0 if block.dark else space.flapping_per_block)
            assert all(ipaddress.ip_address(a) in network for a in addresses)
            assert all(a.rsplit(".", 1)[1] not in ("0", "255") for a in addresses)
            assert all(0 < f.pattern < ALL_ON for f in block.flapping)


def test_flapping_hosts_come_and_go_steady_ones_stay() -> None:
    plan = plan_responders(DISCOVERY, random.Random(DISCOVERY.seed))
    block = next(b for b in plan.of(9198) if b.flapping)
    flapper = block.flapping[0]
    answering = [flapper.address in block.responders_in(period) for period in range(8)]
    assert any(answering) and not all(answering)
    assert answering == [flapper.answers_in(period + 8) for period in range(8)]  # the pattern repeats
    assert all(set(block.steady) <= block.responders_in(period) for period in range(8))
    assert plan.period_at(0) == 0 and plan.period_at(DISCOVERY.flap_seconds * 2.5) == 2


def test_ruleset_counts_before_it_drops_and_loads_the_responders_atomically() -> None:
    text = space_ruleset(("198.18.5.0/24", "198.18.6.0/24"), frozenset({"198.18.5.9", "198.18.5.10"}))
    lines = [line.strip() for line in text.splitlines()]
    counting = lines.index("icmp type echo-request ip daddr @host_blocks update @echo_requests { ip daddr }")
    dropping = lines.index("ip daddr @host_blocks ip daddr != @responders drop")
    assert counting < dropping
    assert (
        f'icmp type echo-request ip daddr 198.18.6.0/24 counter name "{block_counter_name("198.18.6.0/24")}"'
        in lines
    )
    assert lines[-2:] == [
        "flush set ip vlab_space responders",
        "add element ip vlab_space responders { 198.18.5.9, 198.18.5.10 }",
    ]
    assert responders_update(frozenset()) == "flush set ip vlab_space responders\n"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("prefix_length = 22", "prefix_length = 25"), "prefix_length must be 16..24"),
        (lambda t: t.replace("dark_blocks = 1", "dark_blocks = 4"), "dark_blocks 4 > its 3 host blocks"),
        (lambda t: t.replace("flapping = 2", "flapping = 6"), "flapping .6. must not exceed responders"),
        (lambda t: t.replace("responders = 5", "responders = 255"), "at most 254 per block"),
        (lambda t: t.replace("responders = 5", "responders = -1"), "must not be negative"),
        (lambda t: t.replace("flapping = 2", "flaps = 2"), "unknown field 'flaps'"),
        (lambda t: t.replace("[as.space]", "space = 3\n[as.nothing]"), "space must be a table"),
        (lambda t: "flap_seconds = 0\n" + t, "flap_seconds must be at least 1"),
        (lambda t: "census_seconds = 5\n" + t, "census_seconds must be at least two rounds"),
        (
            lambda t: (
                'address_plan = "198.18.0.0/19"\n' + t.replace("prefix_length = 22", "prefix_length = 20")
            ),
            "do not fit the address plan",
        ),
    ],
)
def test_bad_address_space_names_the_field(change: object, message: str) -> None:
    with pytest.raises(TopologyError, match=message):
        parse_topology(change(SPACED))  # type: ignore[operator]


def test_inside_out_targets_keep_only_hosts_on_a_test_list() -> None:
    rows = list(csv.DictReader(io.StringIO(inside_out_targets_csv(DEFAULT))))
    listed = [h for a in DEFAULT.ases for h in a.hosts if h.lists]
    assert listed and len(rows) == 2 * len(listed)
    assert all(any(tag.startswith("list:") for tag in row["tags"].split(";")) for row in rows)
    assert DEFAULT.host("24940:www").address not in {row["target"] for row in rows}


@pytest.mark.parametrize("topology", [DEFAULT, DISCOVERY], ids=["default", "discovery"])
def test_the_discovery_budget_is_exactly_what_the_census_needs(topology: Topology) -> None:
    budget = discovery_budget_per_hour(topology)
    round_s = float(topology.round_seconds)

    def config(budget_per_hour: int) -> DiscoveryConfig:
        return DiscoveryConfig(
            census_period_s=float(topology.census_seconds),
            block_budget_per_hour=budget_per_hour,
            campaign_rate_pps=float(discovery_rate_pps(topology)),
        )

    check_round_fits(config(budget), round_s)  # the collector's own test: it fits...
    with pytest.raises(ValueError, match="per-block budget"):
        check_round_fits(config(budget - 1), round_s)  # ... and not with one probe less an hour
    blocks = sum(ipaddress.ip_network(a.announced).num_addresses // 256 for a in topology.ases)
    assert campaign_tasks_per_round(config(budget), round_s) >= blocks * census_slots_per_round(topology)


def test_probes_get_room_for_the_census_only_where_there_is_one() -> None:
    small = load_topology(TOPOLOGIES / "small.toml")
    assert probe_max_rate(small) == PROBE_DEFAULT_MAX_RATE + trace_rate_pps(small)
    assert probe_max_rate(DEFAULT) == PROBE_DEFAULT_MAX_RATE + trace_rate_pps(DEFAULT) + discovery_rate_pps(
        DEFAULT
    )


def test_probes_get_room_for_a_trace_towards_every_other_as_each_round() -> None:
    """Without it a lab probe logged "the plan needs 207 packets/s but --max-rate is 100: rounds
    will overrun" while a cut AS was traced every round."""
    small = load_topology(TOPOLOGIES / "small.toml")
    per_trace = TracerouteOptions().max_probes
    assert per_trace == 90  # 30 TTLs x 3 probes, the probe's defaults
    assert trace_rate_pps(small) * small.round_seconds >= (len(small.ases) - 1) * per_trace
    assert DEFAULT.discovers_targets and not small.discovers_targets
