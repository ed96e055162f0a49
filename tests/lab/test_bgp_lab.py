"""Real BGP in the lab (lab/topologies/bgp.toml): BIRD in every router, ExaBGP hearing them all.

One lab for the module; each test stages one action and restores it. What
ExaBGP heard is read from the capture process's file (lab/bgp_capture.py).
With VANTAGE_LAB_WRITE_FIXTURES=1 the withdrawal test also saves the capture
and an MRT dump as tests/lab/fixtures/exabgp_capture.jsonl and bird_rib.mrt.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vantage.lab import netns
from vantage.lab.dataplane import apply_action
from vantage.lab.routing import BgpRouting
from vantage.lab.scenario import Action, Scope
from vantage.lab.session import Lab
from vantage.lab.topology import load_topology

pytestmark = [pytest.mark.netns, pytest.mark.slow]

TOPOLOGY = load_topology(Path(__file__).resolve().parents[2] / "lab" / "topologies" / "bgp.toml")
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PREFIX = {a.asn: a.announced for a in TOPOLOGY.ases}
KCELL_HOST = TOPOLOGY.as_by_number(29355).hosts[0].address
KAZAKHTELECOM_HOST = TOPOLOGY.as_by_number(9198).hosts[0].address
# Bounds for what arrives asynchronously (ExaBGP's lines); reaching one is a failure, not a pass.
CAPTURE_BOUND_S = 15.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab.create(TOPOLOGY, state_root=tmp_path_factory.mktemp("labs"))
    try:
        lab.network_up()
        yield lab
    finally:
        assert lab.down(keep_files=True) == []


@pytest.fixture
def routing(lab: Lab) -> Iterator[BgpRouting]:
    assert lab.routing is not None
    yield lab.routing
    lab.apply(())  # every test leaves the lab as it found it


def _ping(lab: Lab, source_asn: int, address: str) -> bool:
    """Whether an echo request from the AS's probe is answered (fping exits 0)."""
    argv = netns.in_namespace(
        netns.probe_ns(lab.state, source_asn), ["fping", "-q", "-c", "2", "-p", "20", "-t", "500", address]
    )
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0


def _messages(routing: BgpRouting, start: int = 0) -> list[dict[str, Any]]:
    lines = (
        routing.capture_path.read_text(encoding="utf-8").splitlines() if routing.capture_path.exists() else []
    )
    return [json.loads(line) for line in lines[start:]]


def _updates(messages: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(peer AS, update) for every UPDATE (end-of-RIB markers aside)."""
    return [
        (int(m["neighbor"]["asn"]["peer"]), m["neighbor"]["message"]["update"])
        for m in messages
        if m["type"] == "update" and "update" in m["neighbor"]["message"]
    ]


def _announced(update: dict[str, Any]) -> set[str]:
    return {n["nlri"] for hops in update.get("announce", {}).get("ipv4 unicast", {}).values() for n in hops}


def _withdrawn(update: dict[str, Any]) -> set[str]:
    return {n["nlri"] for n in update.get("withdraw", {}).get("ipv4 unicast", [])}


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + CAPTURE_BOUND_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {CAPTURE_BOUND_S:g} s: {what}")
        time.sleep(0.1)


def test_sessions_come_up_and_targets_are_reached_over_learned_routes(lab: Lab, routing: BgpRouting) -> None:
    for autonomous_system in TOPOLOGY.ases:
        asn = autonomous_system.asn
        peers = {link.interface_on(asn) for link in TOPOLOGY.links_of(asn)}
        assert routing.established(asn) == {*peers, "route_collector"}
        output = netns.run_command(["ip", "-n", netns.router_ns(lab.state, asn), "-j", "route", "show"])
        routes = {route["dst"]: route.get("protocol") for route in json.loads(output)}
        for other, prefix in PREFIX.items():
            if other != asn:
                assert routes[prefix] == "bird", f"AS{asn}'s route to AS{other} was not learned over BGP"
    # AS29355 is three AS hops from AS1299's probe, reachable only through what BGP spread.
    assert _ping(lab, 1299, KCELL_HOST)

    # The route collector heard every AS's prefix, originated by its owner, from every router.
    def all_heard() -> bool:
        heard = {
            (peer, prefix) for peer, update in _updates(_messages(routing)) for prefix in _announced(update)
        }
        return all((peer, prefix) in heard for peer in PREFIX for prefix in PREFIX.values())

    _until(all_heard, "an announcement of every prefix from every router")
    origins = {
        prefix: update["attribute"]["as-path"][-1]
        for peer, update in _updates(_messages(routing))
        for prefix in _announced(update)
    }
    assert origins == {prefix: asn for asn, prefix in PREFIX.items()}


def test_a_withdrawal_removes_the_routes_everywhere_and_the_collector_hears_it(
    lab: Lab, routing: BgpRouting
) -> None:
    start = len(_messages(routing))
    lab.apply(apply_action((), Action(0, "cut", Scope(asns=(29355,)), "w", method="withdraw")))
    for asn in (1299, 24940, 3320, 9198):
        assert PREFIX[29355] not in routing.kernel_routes(asn)
    assert not _ping(lab, 1299, KCELL_HOST)
    assert not _ping(lab, 9198, KCELL_HOST)  # its neighbour too: nothing is announced to it

    def withdrawn_by_all() -> bool:
        peers = {
            peer
            for peer, update in _updates(_messages(routing, start))
            if PREFIX[29355] in _withdrawn(update)
        }
        return peers >= {1299, 24940, 3320, 9198, 29355}

    _until(withdrawn_by_all, f"a withdrawal of {PREFIX[29355]} from every router")
    if os.environ.get("VANTAGE_LAB_WRITE_FIXTURES") == "1":
        lab.apply(())
        _until(lambda: len(_messages(routing)) > start + 10, "the re-announcements")
        FIXTURES.mkdir(exist_ok=True)
        lines = routing.capture_path.read_text(encoding="utf-8").splitlines()
        (FIXTURES / "exabgp_capture.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        routing.mrt_dump(1299, FIXTURES / "bird_rib.mrt")
    lab.apply(())
    assert _ping(lab, 1299, KCELL_HOST)


def test_a_data_plane_drop_keeps_the_routes_and_sends_no_withdrawal(lab: Lab, routing: BgpRouting) -> None:
    start = len(_messages(routing))
    before = {asn: routing.kernel_routes(asn) for asn in PREFIX}
    lab.apply(apply_action((), Action(0, "cut", Scope(asns=(29355,)), "d", method="drop")))
    assert not _ping(lab, 1299, KCELL_HOST)
    assert not _ping(lab, 9198, KCELL_HOST)
    assert {asn: routing.kernel_routes(asn) for asn in PREFIX} == before
    # The failed pings took a second; a withdrawal reaches the collector in milliseconds.
    withdrawn = [prefix for _, update in _updates(_messages(routing, start)) for prefix in _withdrawn(update)]
    assert withdrawn == []
    assert "route_collector" in routing.established(29355)


def test_a_hijack_is_heard_beside_the_owners_announcement(lab: Lab, routing: BgpRouting) -> None:
    lab.apply(apply_action((), Action(0, "hijack", Scope(asns=(29355,)), "h", prefix_of=3320)))

    def paths() -> dict[int, list[int]]:
        latest = {}
        for peer, update in _updates(_messages(routing)):
            if PREFIX[3320] in _announced(update):
                latest[peer] = update["attribute"]["as-path"]
            if PREFIX[3320] in _withdrawn(update):
                latest.pop(peer, None)
        return latest

    _until(lambda: any(p[-1] == 29355 for p in paths().values()), "the hijacker's announcement")
    latest = paths()
    assert latest[29355] == [29355]  # the hijacker originates it
    assert latest[3320] == [3320] and latest[24940] == [24940, 3320]  # the owner's stays
    assert _ping(lab, 24940, TOPOLOGY.as_by_number(3320).hosts[0].address)


def _hops(lab: Lab, source_asn: int, address: str) -> list[str]:
    argv = ["traceroute", "-n", "-I", "-q", "1", "-w", "1", "-m", "8", address]
    output = netns.run_command(netns.in_namespace(netns.probe_ns(lab.state, source_asn), argv), timeout_s=60)
    return [line.split()[1] for line in output.splitlines()[1:] if len(line.split()) > 1]


def test_a_less_preferred_link_moves_the_path_and_keeps_the_target_reachable(
    lab: Lab, routing: BgpRouting
) -> None:
    dtag_router = TOPOLOGY.as_by_number(3320).router_address
    before = _hops(lab, 1299, KAZAKHTELECOM_HOST)
    assert dtag_router not in before and before[-1] == KAZAKHTELECOM_HOST
    assert routing.kernel_routes(1299)[PREFIX[9198]] == "to9198"
    lab.apply(apply_action((), Action(0, "depref", Scope(asns=(1299, 9198)), "d")))
    assert routing.kernel_routes(1299)[PREFIX[9198]] == "to3320"
    after = _hops(lab, 1299, KAZAKHTELECOM_HOST)
    assert dtag_router in after and after[-1] == KAZAKHTELECOM_HOST
    assert _ping(lab, 1299, KAZAKHTELECOM_HOST) and _ping(lab, 1299, KCELL_HOST)


def test_a_session_that_cannot_come_up_is_named_in_the_error(lab: Lab, routing: BgpRouting) -> None:
    router = netns.router_ns(lab.state, 29355)
    netns.run_command(["ip", "-n", router, "link", "set", "to9198", "down"])  # behind the plan's back
    try:
        with pytest.raises(
            netns.LabError, match=r"AS29355: sessions not established: (route_collector, )?to9198"
        ):
            routing.converge((), timeout_s=2.0)
    finally:
        netns.run_command(["ip", "-n", router, "link", "set", "to9198", "up"])
    routing.converge(())
    assert _ping(lab, 1299, KCELL_HOST)


def test_the_route_collector_restarts_with_other_feed_processes(lab: Lab, routing: BgpRouting) -> None:
    start = len(_messages(routing))
    routing.restart_route_collector(("capture",))
    assert all("route_collector" in routing.established(asn) for asn in PREFIX)

    def table_again() -> bool:
        heard = {peer for peer, update in _updates(_messages(routing, start)) if _announced(update)}
        return heard == set(PREFIX)

    _until(table_again, "every router's table sent again to the new ExaBGP")
