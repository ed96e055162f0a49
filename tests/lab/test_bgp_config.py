"""The lab's BGP plan (pure): policies, BIRD and ExaBGP configurations, the routes to expect, new actions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vantage.lab import bgp
from vantage.lab.dataplane import apply_action, desired_state
from vantage.lab.scenario import Action, ScenarioError, Scope, check_against, load_scenario, parse_scenario
from vantage.lab.topology import ROUTE_COLLECTOR_ASN, TopologyError, load_topology, parse_topology

LAB = Path(__file__).resolve().parents[2] / "lab"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOPOLOGY = load_topology(LAB / "topologies" / "bgp.toml")
PREFIX = {a.asn: a.announced for a in TOPOLOGY.ases}
HEADER = 'name = "s"\nduration_seconds = 60\n'


def _active(*actions: Action) -> tuple[Action, ...]:
    active: tuple[Action, ...] = ()
    for action in actions:
        active = apply_action(active, action)
    return active


def test_the_bgp_topology_routes_by_bgp_and_places_the_route_collector() -> None:
    assert TOPOLOGY.routing == "bgp"
    assert load_topology(LAB / "topologies" / "small.toml").routing == "static"
    assert TOPOLOGY.route_collector_address == "198.18.2.250"  # .250 of the collector AS (24940)
    # No static route at all: BIRD's kernel protocol installs what was learned.
    assert all(router.routes == () for router in desired_state(TOPOLOGY, ()).values())


def test_topology_routing_and_asn_errors_name_the_field() -> None:
    base = '[[as]]\nasn = 1\ncountry = "SE"\ncollector = true\n'
    with pytest.raises(TopologyError, match="routing must be one of static, bgp"):
        parse_topology('routing = "ospf"\n' + base)
    with pytest.raises(TopologyError, match="AS64496 is the lab's route collector"):
        parse_topology(base.replace("asn = 1", f"asn = {ROUTE_COLLECTOR_ASN}"))


def test_at_rest_every_router_holds_every_other_prefix() -> None:
    held = bgp.expected_prefixes(TOPOLOGY, ())
    for asn, prefixes in held.items():
        assert prefixes == {p for a, p in PREFIX.items() if a != asn}
    sessions = bgp.expected_sessions(TOPOLOGY, ())
    assert sessions is not None
    assert sessions[29355] == {"to9198", bgp.ROUTE_COLLECTOR_PROTOCOL}
    assert sessions[1299] == {"to24940", "to3320", "to9198", bgp.ROUTE_COLLECTOR_PROTOCOL}


def test_a_withdrawal_closes_the_scope_to_the_outside_and_the_collector() -> None:
    active = _active(Action(0, "cut", Scope(country="KZ"), "w", method="withdraw"))
    plan = bgp.policies(TOPOLOGY, active)
    assert plan[9198].closed_peers == {1299, 3320, ROUTE_COLLECTOR_ASN}
    assert plan[29355].closed_peers == {ROUTE_COLLECTOR_ASN}  # its only link stays inside KZ
    assert not plan[1299].closed_peers
    held = bgp.expected_prefixes(TOPOLOGY, active)
    assert held[1299] == {PREFIX[24940], PREFIX[3320]}
    assert held[9198] == {PREFIX[29355]} and held[29355] == {PREFIX[9198]}
    config = bgp.bird_config(TOPOLOGY, plan[9198])
    to1299 = config.split("protocol bgp to1299", 1)[1].split("}\n", 3)
    assert "import none;" in to1299[0] + to1299[1] and "export none;" in config
    sessions = bgp.expected_sessions(TOPOLOGY, active)
    assert sessions is not None
    assert sessions[9198] == {"to1299", "to3320", "to29355"}  # filtered, still established
    # Restoring is the same computation without it.
    assert bgp.policies(TOPOLOGY, apply_action(active, Action(1, "restore", Scope(country="KZ"), "r"))) == (
        bgp.policies(TOPOLOGY, ())
    )


def test_a_drop_keeps_every_route_and_drops_at_the_border() -> None:
    active = _active(Action(0, "cut", Scope(asns=(29355,)), "d", method="drop"))
    assert bgp.expected_prefixes(TOPOLOGY, active) == bgp.expected_prefixes(TOPOLOGY, ())
    assert bgp.policies(TOPOLOGY, active) == bgp.policies(TOPOLOGY, ())
    ruleset = desired_state(TOPOLOGY, active)[29355].nft_ruleset
    assert 'iifname { "to9198" } drop' in ruleset and 'oifname { "to9198" } drop' in ruleset
    assert bgp.expected_sessions(TOPOLOGY, active) is not None
    assert bgp.ROUTE_COLLECTOR_PROTOCOL not in (bgp.expected_sessions(TOPOLOGY, active) or {})[29355]


def test_a_link_cut_takes_its_sessions_down() -> None:
    active = _active(Action(0, "cut", Scope(asns=(29355,)), "c", method="link"))
    held = bgp.expected_prefixes(TOPOLOGY, active)
    assert held[29355] == set() and PREFIX[29355] not in held[1299]
    assert (bgp.expected_sessions(TOPOLOGY, active) or {})[9198] == {"to1299", "to3320", "route_collector"}


def test_a_hijack_originates_the_victims_prefix_too() -> None:
    active = _active(Action(0, "hijack", Scope(asns=(29355,)), "h", prefix_of=3320))
    plan = bgp.policies(TOPOLOGY, active)
    assert plan[29355].originated == (PREFIX[29355], PREFIX[3320])
    assert f"route {PREFIX[3320]} blackhole;" in bgp.bird_config(TOPOLOGY, plan[29355])
    held = bgp.expected_prefixes(TOPOLOGY, active)
    assert PREFIX[3320] not in held[29355] and PREFIX[3320] not in held[3320]
    assert all(PREFIX[3320] in held[asn] for asn in (1299, 24940, 9198))
    assert apply_action(active, Action(1, "restore", Scope(asns=(29355,)), "r")) == ()


def test_a_less_preferred_link_is_avoided_at_both_ends_where_another_path_exists() -> None:
    active = _active(Action(0, "depref", Scope(asns=(1299, 9198)), "d"))
    plan = bgp.policies(TOPOLOGY, active)
    assert plan[1299].depref_peers == {9198} and plan[9198].depref_peers == {1299}
    config = bgp.bird_config(TOPOLOGY, plan[1299])
    assert f"bgp_local_pref = {bgp.DEPREF_LOCAL_PREFERENCE}" in config
    assert config.count("bgp_path.prepend(1299);") == bgp.DEPREF_PREPENDS
    avoided = bgp.avoided_routes(TOPOLOGY, active)
    assert (PREFIX[9198], "to9198") in avoided[1299] and (PREFIX[29355], "to9198") in avoided[1299]
    assert (PREFIX[1299], "to1299") in avoided[9198]
    assert not avoided[3320]
    assert bgp.expected_prefixes(TOPOLOGY, active) == bgp.expected_prefixes(TOPOLOGY, ())


def test_exabgp_listens_passively_for_every_router_and_feeds_json() -> None:
    argv = bgp.feed_process_argv("relay", python="/usr/bin/python3", capture_path="/c", socket_path="/s.sock")
    assert argv == ["/usr/bin/python3", "-m", "vantage.collector.bgp.relay", "/s.sock"]
    config = bgp.exabgp_config(TOPOLOGY, {"relay": argv})
    assert "run /usr/bin/python3 -m vantage.collector.bgp.relay /s.sock;" in config
    assert config.count("passive true;") == len(TOPOLOGY.ases)
    assert "encoder json;" in config and "peer-as 29355;" in config
    assert bgp.exabgp_environment(TOPOLOGY)["exabgp_tcp_bind"] == TOPOLOGY.route_collector_address
    with pytest.raises(ValueError, match="splits its command line on spaces"):
        bgp.exabgp_config(TOPOLOGY, {"capture": ["/a dir/python"]})
    with pytest.raises(ValueError, match="unknown route feed process 'tap'"):
        bgp.feed_process_argv("tap", python="p", capture_path="c", socket_path="s")


def test_new_actions_parse_and_are_checked_against_the_routing() -> None:
    scenario = parse_scenario(
        HEADER
        + """
[[action]]
at = 1
do = "hijack"
as = 29355
prefix_of = 3320
[[action]]
at = 2
do = "depref"
link = [9198, 1299]
[[action]]
at = 3
do = "restore"
link = [1299, 9198]
[[action]]
at = 4
do = "cut"
as = 29355
method = "drop"
"""
    )
    hijack, depref, restore, drop = scenario.actions
    assert hijack.prefix_of == 3320 and depref.scope == restore.scope == Scope(asns=(1299, 9198))
    assert drop.method == "drop"
    check_against(scenario, TOPOLOGY)
    with pytest.raises(ScenarioError, match="needs BGP routing"):
        check_against(scenario, load_topology(LAB / "topologies" / "small.toml"))
    no_link = HEADER + '[[action]]\nat = 1\ndo = "depref"\nlink = [1299, 29355]\n'
    with pytest.raises(ScenarioError, match="no link between AS1299 and AS29355"):
        check_against(parse_scenario(no_link), TOPOLOGY)
    with pytest.raises(ScenarioError, match="link must be two different AS numbers"):
        parse_scenario(HEADER + '[[action]]\nat = 1\ndo = "depref"\nlink = [1299]\n')
    with pytest.raises(ScenarioError, match="prefix_of must be another AS"):
        parse_scenario(HEADER + '[[action]]\nat = 1\ndo = "hijack"\nas = 1\nprefix_of = 1\n')
    with pytest.raises(ScenarioError, match="routing must be one of"):
        parse_scenario('routing = "rip"\n' + HEADER)


def test_kazakhstan_stages_the_national_cut_as_a_bgp_withdrawal() -> None:
    scenario = load_scenario(LAB / "scenarios" / "kazakhstan-2022.toml")
    assert scenario.routing == "bgp"
    national = [a for a in scenario.actions if a.kind == "cut" and a.scope == Scope(country="KZ")]
    assert national and all(a.method == "withdraw" for a in national)
    path_change = load_scenario(LAB / "scenarios" / "path-change.toml")
    check_against(path_change, load_topology(LAB / "topologies" / "bgp.toml"))
    assert [a.kind for a in path_change.actions] == ["depref", "restore"] and not path_change.expected


def test_the_exabgp_capture_fixture_holds_announcements_and_withdrawals() -> None:
    """tests/lab/fixtures/exabgp_capture.jsonl: real ExaBGP 4.2 output of the bgp lab (for feed parsers)."""
    messages = [json.loads(line) for line in (FIXTURES / "exabgp_capture.jsonl").read_text().splitlines()]
    updates = [
        m["neighbor"]["message"]["update"]
        for m in messages
        if m["type"] == "update" and "update" in m["neighbor"]["message"]  # not end-of-RIB markers
    ]
    assert any("announce" in u for u in updates) and any("withdraw" in u for u in updates)
    assert {m["type"] for m in messages} >= {"state", "update"}


def test_the_mrt_fixture_is_a_table_dump_v2() -> None:
    """tests/lab/fixtures/bird_rib.mrt: BIRD's `mrt dump` of a lab router (MRT type 13, RFC 6396)."""
    data = (FIXTURES / "bird_rib.mrt").read_bytes()
    assert 0 < len(data) < 100_000
    mrt_type, subtype = int.from_bytes(data[4:6], "big"), int.from_bytes(data[6:8], "big")
    assert (mrt_type, subtype) == (13, 1)  # TABLE_DUMP_V2, PEER_INDEX_TABLE first
