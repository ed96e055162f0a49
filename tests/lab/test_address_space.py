"""The lab's host blocks for real: every address exists, only planned responders answer, the kernel counts.

Builds the discovery topology (no collector or probes), sweeps host blocks
with fping from a probe namespace in another AS, and checks the answers
against the seeded plan and the nftables counters of the target namespaces:
one echo request counted per address swept, one reply per responder, none
from a dark block, flapping hosts answering only in their periods.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vantage.lab import netns
from vantage.lab.responders import BlockPlan
from vantage.lab.session import Lab
from vantage.lab.topology import load_topology

pytestmark = pytest.mark.netns

TOPOLOGY = load_topology(Path(__file__).resolve().parents[2] / "lab" / "topologies" / "discovery.toml")
KAZAKHTELECOM = TOPOLOGY.as_by_number(9198)
SWEEPER = 1299  # a probe namespace outside KZ


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    built = Lab.create(TOPOLOGY, state_root=tmp_path_factory.mktemp("labs"))
    try:
        built.network_up()
        yield built
    finally:
        assert built.down() == []


def _alive(lab: Lab, targets: list[str]) -> set[str]:
    """The targets that answered one echo request each (fping -a: alive ones printed)."""
    argv = netns.in_namespace(
        netns.probe_ns(lab.state, SWEEPER), ["fping", "-a", "-q", "-r", "0", "-i", "1", "-t", "300", *targets]
    )
    # fping exits 1 when some target is unreachable: that is the normal case here.
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode in (0, 1), completed.stderr
    return set(completed.stdout.split())


def _addresses(block: str) -> list[str]:
    return [str(address) for address in ipaddress.ip_network(block)]


def _blocks(lab: Lab) -> tuple[BlockPlan, ...]:
    return lab.responder_plan.of(KAZAKHTELECOM.asn)


def test_the_plan_is_sparse_with_a_dark_block_and_flapping_hosts(lab: Lab) -> None:
    blocks = _blocks(lab)
    assert [b.block for b in blocks] == list(KAZAKHTELECOM.space.blocks)
    assert sum(b.dark for b in blocks) == KAZAKHTELECOM.space.dark_blocks == 1
    live = [b for b in blocks if not b.dark]
    assert all(len(b.ever_responding) == KAZAKHTELECOM.space.responders_per_block for b in live)
    assert all(len(b.flapping) == KAZAKHTELECOM.space.flapping_per_block for b in live)


def test_only_responders_answer_and_the_kernel_counts_every_request(lab: Lab) -> None:
    lab.load_period(0)
    before = netns.echo_counts(lab.state, KAZAKHTELECOM)
    swept = [address for block in KAZAKHTELECOM.space.blocks for address in _addresses(block)]
    alive = _alive(lab, swept)
    expected = lab.responder_plan.responders_in(KAZAKHTELECOM.asn, 0)
    assert expected and alive == expected
    after = netns.echo_counts(lab.state, KAZAKHTELECOM)
    requests = {a: after.requests.get(a, 0) - before.requests.get(a, 0) for a in swept}
    replies = {a: after.replies.get(a, 0) - before.replies.get(a, 0) for a in swept}
    assert set(requests.values()) == {1}  # every address exists: each request reached the namespace
    assert {a for a, n in replies.items() if n} == expected and set(replies.values()) <= {0, 1}
    for block in KAZAKHTELECOM.space.blocks:
        assert after.requests_per_block[block] - before.requests_per_block[block] == 256
    dark = next(b for b in _blocks(lab) if b.dark)
    assert not any(replies[a] for a in _addresses(dark.block))


def test_flapping_hosts_answer_only_in_their_periods(lab: Lab) -> None:
    flappers = [f for block in _blocks(lab) for f in block.flapping]
    steady = [a for block in _blocks(lab) for a in block.steady]
    try:
        for period in range(3):
            lab.load_period(period)
            answering = {f.address for f in flappers if f.answers_in(period)}
            assert _alive(lab, [f.address for f in flappers] + steady[:3]) == answering | set(steady[:3])
        # Some flapper changes state over the three periods: flapping is visible on the wire.
        assert len({tuple(f.answers_in(p) for f in flappers) for p in range(3)}) > 1
    finally:
        lab.load_period(0)


def test_non_responders_answer_nothing_at_all(lab: Lab) -> None:
    dark = next(b for b in _blocks(lab) if b.dark)
    argv = netns.in_namespace(
        netns.probe_ns(lab.state, SWEEPER),
        [
            sys.executable,
            "-c",
            "import socket; socket.create_connection((__import__('sys').argv[1], 53), timeout=1)",
        ],
    )
    # dnsmasq listens on every address of the hosts namespace; a non-responder still answers nothing.
    completed = subprocess.run([*argv, _addresses(dark.block)[7]], capture_output=True, text=True, timeout=30)
    assert "timed out" in completed.stderr
    live = next(b for b in _blocks(lab) if b.steady)
    completed = subprocess.run([*argv, live.steady[0]], capture_output=True, text=True, timeout=30)
    assert completed.returncode == 0, completed.stderr


def test_infrastructure_and_other_ases_are_untouched(lab: Lab) -> None:
    hosts = [h.address for a in TOPOLOGY.ases for h in a.hosts]
    assert _alive(lab, hosts) == set(hosts)


def _loaded_responders(lab: Lab) -> frozenset[str]:
    argv = netns.in_namespace(
        netns.hosts_ns(lab.state, KAZAKHTELECOM.asn),
        ["nft", "-j", "list", "set", "ip", "vlab_space", "responders"],
    )
    document = json.loads(netns.run_command(argv))
    return frozenset(str(e) for item in document["nftables"] for e in item.get("set", {}).get("elem", []))


def test_the_flapper_process_loads_the_next_period_when_it_comes(lab: Lab) -> None:
    plan = lab.responder_plan
    first, second = plan.responders_in(KAZAKHTELECOM.asn, 0), plan.responders_in(KAZAKHTELECOM.asn, 1)
    assert first != second  # the seed gives this topology a flapper that changes between periods 0 and 1
    lab.load_period(0)
    lab.start_flapping()
    try:
        assert _loaded_responders(lab) == first
        # A bounded poll for the period boundary (the flap period is the topology's, 10 s).
        deadline = time.monotonic() + 3 * TOPOLOGY.flap_seconds
        while _loaded_responders(lab) == first and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _loaded_responders(lab) == second
    finally:
        flapper = next(p for p in lab.state.processes if p["role"] == "flapper")
        netns.stop_process(lab.state, int(str(flapper["pid"])))
        lab.load_period(0)
