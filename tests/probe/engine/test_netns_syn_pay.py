"""Every SYN the kernel sends is paid for (engine/paced.py, synledger.py), counted at the target.

connect_tcp runs in the probe namespace (a child process) towards the lab's SYN-dropping
network, one destination per case, under a pacer that is unlimited, starved, or slow; nftables
in the target namespace counts the SYNs that arrive for each destination. The property is
exact and holds for any kernel schedule: SYNs counted <= tokens the Budget kept (Budget.spent,
refunds deducted). On Linux >= 6.5 (tcp_syn_linear_timeouts) TCP_SYNCNT=1 sends SYNs at 0, 1
and 2 s; an attempt that paid for two of them sent three.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .netns_lab import DROPPED_NET, ProbeLab, run

pytestmark = [pytest.mark.netns, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
NET = DROPPED_NET.rsplit(".", 1)[0]  # the target's firewall drops everything to it
# (rate of the Budget's pacer per second, the measurement's timeout in seconds) per destination
CASES = {
    f"{NET}.101": (1e6, 3.5),  # unlimited: the kernel's own schedule, each SYN paid
    f"{NET}.102": (0.001, 3.5),  # starved: the engine's token and the bucket's one, nothing more
    f"{NET}.103": (1.0, 7.0),  # slow: retransmissions wait for tokens, attempts are abandoned
}
COUNTERS = """
table inet vtsyn {
  chain count {
    type filter hook prerouting priority -300;
"""
COUNTERS += "".join(f"    ip daddr {address} tcp dport 80 counter\n" for address in CASES)
COUNTERS += "  }\n}\n"

CONNECTS = """
import asyncio, json, sys, time
from vantage.probe.engine.paced import SYNS_PER_ATTEMPT, Budget, connect_tcp
from vantage.probe.engine.pacing import Pacer

async def one(address, rate, timeout_s):
    budget = Budget(Pacer(rate, time.monotonic_ns()))  # prepaid: the engine's start token
    try:
        async with asyncio.timeout(timeout_s):
            await budget.spend(SYNS_PER_ATTEMPT)  # as tcp_driver.measure pays before its clock
            await connect_tcp(address, 80, budget, paid=True)
    except TimeoutError:
        pass
    return address, budget.spent

async def main():
    cases = json.loads(sys.argv[1])
    print(json.dumps(dict(await asyncio.gather(*(one(a, *c) for a, c in cases.items())))))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeLab]:
    probe_lab = ProbeLab(Path(tmp_path_factory.mktemp("syn-pay-lab")))
    try:
        probe_lab.build_network()
        ruleset = probe_lab.workdir / "counters.nft"
        ruleset.write_text(COUNTERS)
        run("ip", "netns", "exec", probe_lab.target_ns, "nft", "-f", str(ruleset))
        yield probe_lab
    finally:
        probe_lab.close()


def syns_by_address(lab: ProbeLab) -> dict[str, int]:
    listed = run("ip", "netns", "exec", lab.target_ns, "nft", "-j", "list", "table", "inet", "vtsyn")
    counted = {}
    for entry in json.loads(listed.stdout)["nftables"]:
        if "rule" in entry:
            expressions = entry["rule"]["expr"]
            address = next(e["match"]["right"] for e in expressions if "match" in e)
            counted[address] = next(e["counter"]["packets"] for e in expressions if "counter" in e)
    return counted


def test_a_connect_never_sends_more_syns_than_it_paid_for(lab: ProbeLab) -> None:
    in_probe_ns = ["ip", "netns", "exec", lab.probe_ns, sys.executable, "-c", CONNECTS, json.dumps(CASES)]
    done = subprocess.run(in_probe_ns, cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    spent = json.loads(done.stdout)
    syns = syns_by_address(lab)
    print(
        f"\nSYNs sent / paid per case (rate, timeout s): { {CASES[a]: (syns[a], spent[a]) for a in CASES} }"
    )
    for address in CASES:
        assert syns[address] <= spent[address], (CASES[address], syns[address], spent[address])
        assert syns[address] >= 2  # the SYN and the retransmission paid up front both went out
    # Starved, the attempt is closed before the third SYN: without paying for it, Linux >= 6.5
    # would have sent it at 2 s.
    assert syns[f"{NET}.102"] == 2
