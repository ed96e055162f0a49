"""The desired router state for each combination of staged actions (pure)."""

from __future__ import annotations

from pathlib import Path

from vantage.lab.dataplane import apply_action, desired_state
from vantage.lab.scenario import Action, Scope
from vantage.lab.topology import load_topology

TOPOLOGY = load_topology(Path(__file__).resolve().parents[2] / "lab" / "topologies" / "small.toml")
KZ = Scope(country="KZ")
KZ_PREFIXES = {TOPOLOGY.as_by_number(9198).prefix, TOPOLOGY.as_by_number(29355).prefix}


def _routes(asn: int, active: tuple[Action, ...]) -> dict[str, str | None]:
    return {route.prefix: route.via for route in desired_state(TOPOLOGY, active)[asn].routes}


def test_baseline_routes_everything_everywhere() -> None:
    state = desired_state(TOPOLOGY, ())
    for router in state.values():
        assert not router.interfaces_down
        assert len(router.routes) == len(TOPOLOGY.ases) - 1
        assert all(route.via for route in router.routes)
        assert "numgen" not in router.nft_ruleset and not router.runs_liar_dns


def test_link_cut_of_a_country_takes_down_only_its_border() -> None:
    active = apply_action((), Action(0, "cut", KZ, "cut", method="link"))
    state = desired_state(TOPOLOGY, active)
    assert state[9198].interfaces_down == {"to1299", "to12389"}
    assert not state[29355].interfaces_down  # its only link stays inside KZ
    assert not state[1299].interfaces_down  # the outside keeps pointing at a dead link
    assert all(_routes(1299, active)[prefix] for prefix in KZ_PREFIXES)
    kz_routes = _routes(9198, active)
    assert kz_routes[TOPOLOGY.as_by_number(29355).prefix]  # inside the country still works
    assert kz_routes[TOPOLOGY.as_by_number(1299).prefix] is None


def test_withdrawal_makes_routes_unreachable_on_both_sides() -> None:
    active = apply_action((), Action(0, "cut", KZ, "cut", method="withdraw"))
    assert all(_routes(1299, active)[prefix] is None for prefix in KZ_PREFIXES)
    assert _routes(29355, active)[TOPOLOGY.as_by_number(1299).prefix] is None
    assert _routes(29355, active)[TOPOLOGY.as_by_number(9198).prefix]
    assert not desired_state(TOPOLOGY, active)[9198].interfaces_down


def test_restore_undoes_exactly_its_scope() -> None:
    country_cut = Action(0, "cut", KZ, "cut")
    as_cut = Action(1, "cut", Scope(asns=(29355,)), "cut")
    active = apply_action(apply_action((), country_cut), as_cut)
    active = apply_action(active, Action(2, "restore", KZ, "restore"))
    assert active == (as_cut,)
    assert apply_action(active, Action(3, "restore", Scope(everything=True), "all")) == ()


def test_loss_applies_once_at_the_border_both_ways() -> None:
    active = apply_action((), Action(0, "loss", KZ, "loss", percent=30))
    state = desired_state(TOPOLOGY, active)
    ruleset = state[9198].nft_ruleset
    assert 'iifname { "to12389", "to1299" } numgen random mod 100 < 30 drop' in ruleset
    assert 'oifname { "to12389", "to1299" } numgen random mod 100 < 30 drop' in ruleset
    assert "numgen" not in state[29355].nft_ruleset  # its link to 9198 is not a border
    assert "numgen" not in state[1299].nft_ruleset
    # A new loss on the same scope replaces the old one; clear removes it.
    active = apply_action(active, Action(1, "loss", KZ, "loss", percent=50))
    assert len(active) == 1 and active[0].percent == 50
    assert apply_action(active, Action(2, "clear", KZ, "clear")) == ()


def test_filters_act_on_the_users_own_traffic() -> None:
    social = TOPOLOGY.host("24940:social").address
    reset = Action(0, "filter", KZ, "f", hosts=("24940:social",), protocols=("http",), filter_action="reset")
    rewrite = Action(
        0, "filter", KZ, "f", hosts=("24940:news",), protocols=("dns",), filter_action="dns-rewrite"
    )
    state = desired_state(TOPOLOGY, apply_action(apply_action((), reset), rewrite))
    for asn in (9198, 29355):
        ruleset = state[asn].nft_ruleset
        assert f'iifname "lan" ip daddr {{ {social} }} tcp dport 80 reject with tcp reset' in ruleset
        router = TOPOLOGY.as_by_number(asn).router_address
        assert f"udp dport 53 dnat ip to {router}" in ruleset
        assert state[asn].runs_liar_dns
    assert "reject" not in state[1299].nft_ruleset and not state[1299].runs_liar_dns


def test_reject_and_drop_verdicts() -> None:
    reject = Action(
        0, "filter", KZ, "f", hosts=("24940:news",), protocols=("icmp", "dns"), filter_action="reject"
    )
    ruleset = desired_state(TOPOLOGY, (reject,))[9198].nft_ruleset
    assert "meta l4proto icmp reject with icmpx admin-prohibited" in ruleset
    assert "udp dport 53 reject with icmpx admin-prohibited" in ruleset
    drop = Action(0, "filter", KZ, "f", hosts=("24940:news",), protocols=("tcp",), port=443)
    assert "tcp dport 443 drop" in desired_state(TOPOLOGY, (drop,))[9198].nft_ruleset


def test_delay_is_planned_on_the_border() -> None:
    delay = Action(0, "delay", KZ, "d", delay_ms=200)
    assert desired_state(TOPOLOGY, (delay,))[9198].delays_ms == (("to12389", 200), ("to1299", 200))


def test_an_inside_cut_keeps_the_router_answering_and_drops_what_enters_its_network() -> None:
    active = apply_action((), Action(0, "cut", Scope(asns=(29355,)), "inside", method="inside"))
    state = desired_state(TOPOLOGY, active)
    kcell = state[29355]
    assert not kcell.interfaces_down and all(route.via for route in kcell.routes)
    assert 'iifname != "lan" oifname "lan" drop' in kcell.nft_ruleset
    assert "drop" not in state[9198].nft_ruleset
    assert apply_action(active, Action(1, "restore", Scope(asns=(29355,)), "restore")) == ()


def test_routers_send_from_their_own_address() -> None:
    # A traceroute maps each hop to its AS: routers answer from their address in their AS's
    # allocation (the route's src), not from a link /30 that belongs to no AS.
    for asn, router in desired_state(TOPOLOGY, ()).items():
        assert router.source_address == TOPOLOGY.as_by_number(asn).router_address
