"""The lab's network for real: namespaces, routing, staged cuts, loss and filters, and cleanup.

Builds the small topology (no collector or probes: those are the end-to-end
tests' business), checks it with real packets — ping, TCP, HTTP and DNS from
inside the probe namespaces — under each kind of staged action, and checks
that nothing is left behind.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vantage.lab import netns
from vantage.lab.dataplane import apply_action
from vantage.lab.scenario import Action, Scope
from vantage.lab.session import Lab
from vantage.lab.topology import Topology, load_topology

pytestmark = pytest.mark.netns

TOPOLOGY = load_topology(Path(__file__).resolve().parents[2] / "lab" / "topologies" / "small.toml")
KZ = Scope(country="KZ")

PROBE_SCRIPT = r"""
import socket, sys, urllib.request
import dns.message, dns.query, dns.rcode
kind, address = sys.argv[1], sys.argv[2]
try:
    if kind == "tcp":
        socket.create_connection((address, 80), timeout=1.5).close()
        print("ok")
    elif kind == "http":
        print(urllib.request.urlopen(f"http://{address}/", timeout=1.5).read().decode())
    elif kind == "dns":
        answer = dns.query.udp(dns.message.make_query(sys.argv[3], "A"), address, timeout=1.5)
        addresses = [item.address for rrset in answer.answer for item in rrset]
        print(" ".join(addresses) or dns.rcode.to_text(answer.rcode()))
except ConnectionRefusedError:
    print("refused")
except ConnectionResetError:
    print("reset")
except OSError as exc:
    print(type(exc).__name__ + " " + str(exc))
except dns.exception.Timeout:
    print("timeout")
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    built = Lab.create(TOPOLOGY, state_root=tmp_path_factory.mktemp("labs"))
    try:
        built.network_up()
        yield built
    finally:
        problems = built.down()
        assert problems == []


@pytest.fixture(autouse=True)
def healthy(lab: Lab) -> Iterator[None]:
    lab.apply(())
    yield
    lab.apply(())


def _ask(lab: Lab, from_asn: int, kind: str, address: str, *extra: str) -> str:
    argv = netns.in_namespace(
        netns.probe_ns(lab.state, from_asn), [sys.executable, "-c", PROBE_SCRIPT, kind, address, *extra]
    )
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout.strip()


def _pings(lab: Lab, from_asn: int, address: str, count: int = 1) -> int:
    """Echo replies received out of `count` (fping, 10 ms apart, 500 ms timeout)."""
    argv = ["fping", "-q", "-C", str(count), "-p", "10", "-t", "500", address]
    result = subprocess.run(
        netns.in_namespace(netns.probe_ns(lab.state, from_asn), argv),
        capture_output=True,
        text=True,
        timeout=30,
    )
    fields = result.stderr.split(":", 1)[1].split()
    return sum(1 for item in fields if item != "-")


def _host(reference: str) -> str:
    return TOPOLOGY.host(reference).address


def _first_host(topology: Topology, asn: int) -> str:
    return topology.as_by_number(asn).hosts[0].address


def test_every_probe_reaches_every_host_with_every_protocol(lab: Lab) -> None:
    for autonomous_system in TOPOLOGY.probe_ases:
        for target in TOPOLOGY.ases:
            for host in target.hosts:
                assert _pings(lab, autonomous_system.asn, host.address) == 1, (autonomous_system.asn, host)
    news = TOPOLOGY.host("24940:news")
    assert "<title>news</title>" in _ask(lab, 9198, "http", news.address)
    assert _ask(lab, 9198, "dns", news.address, news.dns_name) == news.address
    assert _ask(lab, 1299, "dns", news.address, "nothing.lab") == "NXDOMAIN"


def test_link_cut_isolates_the_country_and_restore_heals(lab: Lab) -> None:
    cut = apply_action((), Action(0, "cut", KZ, "cut", method="link"))
    lab.apply(cut)
    kz_host, outside = _first_host(TOPOLOGY, 29355), _host("24940:news")
    assert _pings(lab, 1299, kz_host) == 0
    assert _pings(lab, 9198, outside) == 0
    assert _pings(lab, 9198, kz_host) == 1  # inside the country still works
    # The outside keeps its route into the dead link: a connect times out, or, once the
    # router's neighbour entry for the far end has failed (about 3 s after the first packet, so
    # it depends on how fast the steps above ran), the kernel says "No route to host"
    # (EHOSTUNREACH) at once. A withdrawal has no route at all (next test).
    answer = _ask(lab, 1299, "tcp", _first_host(TOPOLOGY, 9198))
    assert answer.startswith("TimeoutError") or "[Errno 113]" in answer, answer
    route = subprocess.run(
        ["ip", "-n", netns.router_ns(lab.state, 1299), "route", "get", _first_host(TOPOLOGY, 9198)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "unreachable" not in route and " via " in route, route
    lab.apply(())
    assert _pings(lab, 1299, kz_host) == 1 and _pings(lab, 9198, outside) == 1


def test_withdrawal_answers_unreachable(lab: Lab) -> None:
    lab.apply((Action(0, "cut", KZ, "cut", method="withdraw"),))
    answer = _ask(lab, 1299, "tcp", _first_host(TOPOLOGY, 9198))
    assert "unreachable" in answer.lower() or "No route" in answer, answer
    assert _pings(lab, 12389, _first_host(TOPOLOGY, 29355)) == 0
    lab.apply(())
    assert _ask(lab, 1299, "tcp", _first_host(TOPOLOGY, 9198)) == "ok"


def test_loss_drops_a_share_of_packets_and_clears(lab: Lab) -> None:
    target = _first_host(TOPOLOGY, 9198)
    lab.apply((Action(0, "loss", Scope(asns=(9198,)), "loss", percent=100),))
    assert _pings(lab, 1299, target, count=3) == 0
    lab.apply((Action(0, "loss", Scope(asns=(9198,)), "loss", percent=50),))
    # 50 % each way: about a quarter of 40 round trips survive; none or all would mean no random loss.
    assert 0 < _pings(lab, 1299, target, count=40) < 40
    lab.apply(())
    assert _pings(lab, 1299, target, count=3) == 3


def test_filters_reset_reject_and_rewrite_only_for_the_country(lab: Lab) -> None:
    social, news = TOPOLOGY.host("24940:social"), TOPOLOGY.host("24940:news")
    active = apply_action(
        (), Action(0, "filter", KZ, "f", hosts=("24940:social",), protocols=("http",), filter_action="reset")
    )
    active = apply_action(
        active,
        Action(0, "filter", KZ, "f", hosts=("24940:news",), protocols=("icmp",), filter_action="reject"),
    )
    active = apply_action(
        active,
        Action(
            0, "filter", KZ, "f", hosts=("24940:social",), protocols=("dns",), filter_action="dns-rewrite"
        ),
    )
    lab.apply(active)
    assert _ask(lab, 9198, "tcp", social.address) == "refused"  # a TCP reset to the SYN
    assert _ask(lab, 9198, "tcp", news.address) == "ok"
    assert _pings(lab, 9198, news.address) == 0 and _pings(lab, 9198, social.address) == 1
    router = TOPOLOGY.as_by_number(9198).router_address
    assert _ask(lab, 9198, "dns", social.address, social.dns_name) == router  # the censor's answer
    # Seen from outside the country, nothing is filtered.
    assert _ask(lab, 1299, "tcp", social.address) == "ok" and _pings(lab, 1299, news.address) == 1
    assert _ask(lab, 1299, "dns", social.address, social.dns_name) == social.address
    lab.apply(())
    assert _ask(lab, 9198, "tcp", social.address) == "ok"
    assert _ask(lab, 9198, "dns", social.address, social.dns_name) == social.address


def test_teardown_leaves_nothing_behind(tmp_path: Path) -> None:
    lab = Lab.create(TOPOLOGY, state_root=tmp_path)
    namespaces: list[str] = []
    pids: list[int] = []
    try:
        lab.network_up()
        namespaces = list(lab.state.namespaces)
        pids = [int(str(p["pid"])) for p in lab.state.processes]
        # A stray process inside a namespace that the lab did not record must go too.
        subprocess.Popen(netns.in_namespace(namespaces[-1], ["sleep", "300"]), start_new_session=True)
        assert set(namespaces) <= set(netns.list_namespaces())
    finally:
        assert lab.down() == []
    assert not [n for n in netns.list_namespaces() if n.startswith(lab.state.prefix)]
    assert all(
        not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text() for pid in pids
    )
    assert not lab.state.work_dir.exists()
    assert len(namespaces) == len(TOPOLOGY.ases) * 2 + len(TOPOLOGY.probe_ases) + 1


def test_an_error_midway_still_cleans_up(tmp_path: Path) -> None:
    lab = Lab.create(TOPOLOGY, state_root=tmp_path)
    with pytest.raises(netns.LabError), lab:
        netns.build_network(lab.state, TOPOLOGY)
        netns.run_command(["ip", "netns", "add", lab.state.namespaces[0]])  # already exists: fails
    assert not [n for n in netns.list_namespaces() if n.startswith(lab.state.prefix)]
