"""The routing table's visibility rules, table-driven over fixed times."""

from __future__ import annotations

from vantage.collector.bgp.messages import FeedMessage, PeerState
from vantage.collector.bgp.model import RouteUpdate, RoutingState
from vantage.collector.bgp.table import DEFAULT_FULL_FEED_FRACTION, RoutingTable, VisibilityRules
from vantage.collector.bgp.union import ipv4_space

OWNER, HIJACKER, OTHER = 64501, 64666, 64502
T0 = 1_700_000_000.0


def announce(peer: str, prefix: str, origin: int, at: float = T0) -> RouteUpdate:
    return RouteUpdate(peer, 64500, prefix, False, (64500, origin), origin, at)


def withdraw(peer: str, prefix: str, at: float = T0) -> RouteUpdate:
    return RouteUpdate(peer, 64500, prefix, True, (), None, at)


def loaded_table(peers: int = 3) -> RoutingTable:
    table = RoutingTable()
    table.set_source("s", connected=True, table_loaded=True)
    for index in range(peers):
        for prefix in ("198.18.0.0/16", "198.18.4.0/24", "198.19.0.0/24"):
            table.update("s", announce(f"p{index}", prefix, OWNER))
        table.update("s", announce(f"p{index}", "203.0.113.0/24", OTHER))
    return table


def test_visible_counts_the_union_once() -> None:
    table = loaded_table()
    owner = table.visibility(T0)[OWNER]
    assert owner.state is RoutingState.VISIBLE
    assert (owner.visible_prefixes, owner.baseline_prefixes) == (3, 3)
    assert owner.visible_addresses == 65536 + 256  # the /24 inside the /16 is not counted twice
    assert owner.full_feed_peers == 3 and owner.visible_fraction == 1.0


def test_withdrawal_by_most_peers_then_all() -> None:
    table = loaded_table()
    table.visibility(T0)
    for peer in ("p0", "p1"):
        table.update("s", withdraw(peer, "198.18.0.0/16"))
    partial = table.visibility(T0 + 300)[OWNER]
    # 1 of 3 full-feed peers is not more than half: the /16 is gone; the /24s remain (512 of 65792).
    assert partial.state is RoutingState.WITHDRAWN and partial.visible_addresses == 512
    table.update("s", withdraw("p2", "198.18.0.0/16"))
    for peer in ("p0", "p1", "p2"):
        table.update("s", withdraw(peer, "198.18.4.0/24"))
    table.update("s", withdraw("p0", "198.19.0.0/24"))
    gone = table.visibility(T0 + 600)[OWNER]
    assert gone.state is RoutingState.WITHDRAWN and gone.visible_prefixes == 1 and gone.baseline_prefixes == 3
    assert table.visibility(T0 + 600)[OTHER].state is RoutingState.VISIBLE


def test_partial_between_thresholds() -> None:
    table = RoutingTable()
    table.set_source("s", connected=True, table_loaded=True)
    for peer in ("p0", "p1"):
        table.update("s", announce(peer, "198.18.0.0/24", OWNER))
        table.update("s", announce(peer, "198.18.1.0/24", OWNER))
    table.visibility(T0)
    for peer in ("p0", "p1"):
        table.update("s", withdraw(peer, "198.18.1.0/24"))
    half = table.visibility(T0 + 1)[OWNER]
    assert half.state is RoutingState.PARTIAL and half.visible_fraction == 0.5
    assert half.reason == "1/2 prefixes visible (50% of the address space) from 2 full-feed peers"


def test_feed_down_is_unknown_never_withdrawn() -> None:
    table = loaded_table()
    table.visibility(T0)
    table.set_source("s", connected=False, table_loaded=False)
    down = table.visibility(T0 + 300)[OWNER]
    assert down.state is RoutingState.UNKNOWN and down.baseline_prefixes == 3
    assert down.reason == "route feed down: s"
    # Every session resets: their routes go, and still nothing is WITHDRAWN.
    table.set_source("s", connected=True, table_loaded=False)
    for peer in ("p0", "p1", "p2"):
        table.apply("s", FeedMessage(peer_states=(PeerState(peer, False, T0 + 301),)))
    assert table.visibility(T0 + 600)[OWNER].state is RoutingState.UNKNOWN
    assert table.prefix_count == 0


def test_a_table_still_loading_is_unknown() -> None:
    table = RoutingTable()
    table.set_source("exabgp", connected=True, table_loaded=False)
    table.update("exabgp", announce("p0", "198.18.0.0/24", OWNER))
    assert table.visibility(T0) == {}  # no baseline learned while loading
    table.apply("exabgp", FeedMessage(end_of_rib=("p0",)))
    assert table.visibility(T0 + 1)[OWNER].state is RoutingState.VISIBLE


def test_a_peer_with_a_small_table_is_not_full_feed() -> None:
    table = loaded_table(peers=2)
    table.update("s", announce("partial", "198.18.0.0/16", OWNER))  # 1 route of 4: not full feed
    assert table.visibility(T0)[OWNER].full_feed_peers == 2
    assert [(p.peer, p.full_feed) for p in table.peers()] == [("p0", True), ("p1", True), ("partial", False)]


def test_exact_prefix_hijack_neither_shows_nor_removes_the_owner() -> None:
    table = loaded_table()
    table.visibility(T0)
    for peer in ("p0", "p1", "p2"):
        table.update("s", announce(peer, "198.18.0.0/16", HIJACKER))  # implicit withdrawal of the owner's
    after = table.visibility(T0 + 300)
    owner = after[OWNER]
    assert owner.visible_prefixes == 2 and owner.contested_prefixes == 1
    assert owner.state is RoutingState.VISIBLE  # not a withdrawal by the owner
    assert "1 announced by AS64666 instead" in owner.reason
    assert after[HIJACKER].visible_prefixes == 1  # the hijacker's, never the owner's


def test_more_specific_hijack_is_the_hijackers_visibility() -> None:
    table = loaded_table()
    table.visibility(T0)
    for peer in ("p0", "p1", "p2"):
        table.update("s", announce(peer, "198.18.128.0/17", HIJACKER))
    after = table.visibility(T0 + 300)
    assert after[OWNER].visible_addresses == 65536 + 256 and after[OWNER].contested_prefixes == 0
    assert after[HIJACKER].visible_addresses == 32768


def test_baseline_forgets_after_its_window() -> None:
    table = RoutingTable(VisibilityRules(baseline_window_s=1000.0, expiry_every_s=0.0))
    table.set_source("s", connected=True, table_loaded=True)
    table.update("s", announce("p0", "198.18.0.0/24", OWNER))
    table.update("s", announce("p0", "198.18.1.0/24", OWNER))
    table.visibility(T0)
    table.update("s", withdraw("p0", "198.18.1.0/24"))
    assert table.visibility(T0 + 999)[OWNER].baseline_prefixes == 2
    assert table.visibility(T0 + 1001)[OWNER].baseline_prefixes == 1


def test_ipv6_only_as_uses_prefix_share() -> None:
    table = RoutingTable()
    table.set_source("s", connected=True, table_loaded=True)
    table.update("s", announce("p0", "2001:db8::/32", OWNER))
    table.update("s", announce("p0", "2001:db8:1::/48", OWNER))
    table.visibility(T0)
    table.update("s", withdraw("p0", "2001:db8::/32"))
    result = table.visibility(T0 + 1)[OWNER]
    assert result.baseline_addresses == 0 and result.state is RoutingState.PARTIAL


def test_union_sizes_against_a_hand_count() -> None:
    keys = [(0x0A000000 << 8) | 8, (0x0A010000 << 8) | 16, (0x0B000000 << 8) | 24, (0xC0000200 << 8) | 24]
    assert ipv4_space([1, 1, 1, 2], keys) == {1: 2**24 + 256, 2: 256}
    assert ipv4_space([1], [~((1 << 8) | 32)]) == {}  # IPv6 only


def test_load_routes_matches_one_by_one() -> None:
    routes = [("198.18.0.0/24", OWNER), ("198.18.1.0/24", OTHER), ("198.18.0.0/24", HIJACKER)]
    bulk = RoutingTable()
    bulk.set_source("s", connected=True, table_loaded=True)
    bulk.load_routes("s", ["p0", "p1"], routes)
    single = RoutingTable()
    single.set_source("s", connected=True, table_loaded=True)
    for peer in ("p0", "p1"):
        for prefix, origin in routes:
            single.update("s", announce(peer, prefix, origin))
    assert bulk.peers() == single.peers()
    assert bulk.visibility(T0) == single.visibility(T0)


def test_incremental_rounds_agree_with_a_fresh_table() -> None:
    """Rounds computed from what changed give what a table computed from scratch gives."""
    import random

    rng = random.Random(17)
    peers = [f"p{i}" for i in range(5)]
    prefixes = [f"198.18.{i}.0/24" for i in range(60)] + ["198.18.0.0/16", "2001:db8::/32"]
    origins = (OWNER, OTHER, HIJACKER)
    # No hysteresis in the full-feed rule: a fresh table has no history to keep peers by.
    rules = VisibilityRules(full_feed_keep_fraction=DEFAULT_FULL_FEED_FRACTION)
    live = RoutingTable(rules)
    live.set_source("s", connected=True, table_loaded=True)
    routes: dict[tuple[str, str], int] = {}
    for round_index in range(12):
        for _ in range(40):
            peer, prefix = rng.choice(peers), rng.choice(prefixes)
            if rng.random() < 0.3:
                live.update("s", withdraw(peer, prefix))
                routes.pop((peer, prefix), None)
            else:
                origin = rng.choice(origins)
                live.update("s", announce(peer, prefix, origin))
                routes[(peer, prefix)] = origin
        if round_index == 6:
            live.apply("s", FeedMessage(peer_states=(PeerState("p4", False, T0),)))
            routes = {(peer, prefix): o for (peer, prefix), o in routes.items() if peer != "p4"}
        incremental = live.visibility(T0 + round_index)
        fresh = RoutingTable(rules)
        fresh.set_source("s", connected=True, table_loaded=True)
        for peer in peers:  # every peer exists in both, in the same order
            fresh.load_routes("s", [peer], [])
        for (peer, prefix), origin in sorted(routes.items()):
            fresh.update("s", announce(peer, prefix, origin))
        if round_index >= 6:
            fresh.apply("s", FeedMessage(peer_states=(PeerState("p4", False, T0),)))
        expected = fresh.visibility(T0 + round_index)
        got = {
            asn: (r.visible_prefixes, r.visible_addresses)
            for asn, r in incremental.items()
            if r.visible_prefixes
        }
        want = {
            asn: (r.visible_prefixes, r.visible_addresses)
            for asn, r in expected.items()
            if r.visible_prefixes
        }
        assert got == want, round_index
