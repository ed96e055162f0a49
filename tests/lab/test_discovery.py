"""Discovery against the lab's host blocks, judged by the kernel: what the target namespaces counted.

The discovery topology with the real collector and probes (started through
the `vantage` CLI), an exclusion file (a /28 and one responder of a live
Kazakhtelecom-like block), and `--allow-range` opening every AS's allocation
but Kcell-like AS29355's, which stays special-purpose (198.18.0.0/15 is
RFC 2544's benchmarking range). One campaign, `vantage collector targets
discover --country KZ --census-period 20s --wait`, with the flapper running.
Then the nftables counters of the hosts namespaces (echo requests and replies
per address, per block) against the collector's block histories:

* discovery found at least 95 % of the addresses that answered (and nothing
  the kernel did not see answer);
* nothing was sent to an excluded address, to the closed special-purpose
  AS, or outside the campaign's country;
* every address was probed at most once per census, and no block beyond its
  per-round budget (checked where reachability measurements cannot add
  packets: addresses that never answered, and dark blocks).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vantage.collector.discovery.history import BlockHistory
from vantage.collector.discovery.space import parse_block_cidr
from vantage.collector.storage import open_storage
from vantage.lab import datasets, netns
from vantage.lab.netns import EchoCounts
from vantage.lab.product import Product
from vantage.lab.session import Lab
from vantage.lab.topology import load_topology

pytestmark = [pytest.mark.netns, pytest.mark.slow]

TOPOLOGY = load_topology(Path(__file__).resolve().parents[2] / "lab" / "topologies" / "discovery.toml")
KAZAKHTELECOM = TOPOLOGY.as_by_number(9198)
CLOSED = TOPOLOGY.as_by_number(29355)  # in KZ, but its space is never opened by --allow-range
OUTSIDE_KZ = [a for a in TOPOLOGY.ases if a.country != "KZ"]


@dataclass(frozen=True, slots=True)
class Run:
    lab: Lab
    excluded: frozenset[str]
    counts: dict[int, EchoCounts]
    found: frozenset[str]  # addresses the collector's block histories say answered
    censuses: int  # census epochs the campaign's life touched
    rounds: int  # rounds it touched


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    lab = Lab.create(TOPOLOGY, state_root=tmp_path_factory.mktemp("labs"))
    try:
        lab.network_up()
        plan = lab.responder_plan
        live = next(b for b in plan.of(KAZAKHTELECOM.asn) if len(b.steady) >= 2)
        sixteen = ipaddress.ip_network(live.steady[0]).supernet(new_prefix=28)
        excluded = {str(a) for a in sixteen} | {live.steady[-1]}
        exclude_file = lab.state.work_dir / "exclude.conf"
        exclude_file.write_text(
            f"# the lab's exclusion list (ZMap form)\n{sixteen}\n{live.steady[-1]}/32  # one host\n",
            encoding="utf-8",
        )
        lab.start_flapping()
        product = Product(lab)
        product.deploy(
            discover=False,
            allow_ranges=[a.announced for a in TOPOLOGY.ases if a.asn != CLOSED.asn],
            exclude=exclude_file,
        )
        started_unix_s = time.time()
        product.admin(
            "targets",
            "discover",
            "--country",
            "KZ",
            "--census-period",
            f"{TOPOLOGY.census_seconds}s",
            "--wait",
            timeout_s=6 * TOPOLOGY.census_seconds,
        )
        # The round holding the last census slot is folded into the histories after it is computed.
        time.sleep(2 * TOPOLOGY.round_seconds)
        ended_unix_s = time.time()
        # What the collector found is read before the kernel's counters: the census goes on, and
        # an answer the collector holds was counted by the kernel before the collector stored it,
        # so read in this order "found" can never run ahead of "answered" (read the other way, a
        # flapping host answering between the two reads looked found but never answered).
        storage = open_storage(None, product.data_dir)
        try:
            found = set()
            for row in storage.list_blocks(asns=[KAZAKHTELECOM.asn]):
                block = parse_block_cidr(row.block)
                history = BlockHistory.from_blob(block, row.epoch, row.history)
                found |= {str(ipaddress.IPv4Address(block << 8 | host)) for host in history.responders()}
        finally:
            storage.close()
        counts = {a.asn: netns.echo_counts(lab.state, a) for a in TOPOLOGY.ases}
        period, round_s = TOPOLOGY.census_seconds, TOPOLOGY.round_seconds
        yield Run(
            lab=lab,
            excluded=frozenset(excluded),
            counts=counts,
            found=frozenset(found),
            censuses=math.floor(ended_unix_s / period) - math.floor(started_unix_s / period) + 1,
            rounds=math.floor(ended_unix_s / round_s) - math.floor(started_unix_s / round_s) + 1,
        )
    finally:
        assert lab.down(keep_files=True) == []


def _host_addresses(block: str) -> list[str]:
    return [str(address) for address in ipaddress.ip_network(block)]


def test_discovery_finds_at_least_95_percent_of_what_answered(run: Run) -> None:
    counts = run.counts[KAZAKHTELECOM.asn]
    censused = [b for b in KAZAKHTELECOM.space.blocks if counts.requests_per_block[b]]
    assert censused == list(KAZAKHTELECOM.space.blocks)
    answered = {a for b in censused for a in _host_addresses(b) if counts.replies.get(a, 0)}
    found = {
        a for a in run.found if any(ipaddress.ip_address(a) in ipaddress.ip_network(b) for b in censused)
    }
    print(f"answered (kernel): {len(answered)}, found (collector): {len(found & answered)}")
    assert answered and len(found & answered) >= 0.95 * len(answered)
    # Each live block's steady hosts were all there to be found and asked (bar the excluded ones).
    for block in run.lab.responder_plan.of(KAZAKHTELECOM.asn):
        assert set(block.steady) - run.excluded <= answered


@pytest.mark.xfail(
    reason="open (issue 14): CI saw one responder per run that the kernel's reply counters never saw "
    "answer; not reproduced in 8 runs since (all XPASS). Ruled out: a reply matched to the wrong "
    "target (identifier, a random 32-bit nonce per sweep and the 32-bit packet index in the payload; "
    "a new socket per round), nft dynamic-set counters missing a new element's first packet (checked "
    "in a namespace), a history from elsewhere (only DISCOVERY results are folded in)",
    strict=False,
)
def test_nothing_is_found_that_the_kernel_did_not_see_answer(run: Run) -> None:
    counts = run.counts[KAZAKHTELECOM.asn]
    censused = [b for b in KAZAKHTELECOM.space.blocks if counts.requests_per_block[b]]
    answered = {a for b in censused for a in _host_addresses(b) if counts.replies.get(a, 0)}
    found = {
        a for a in run.found if any(ipaddress.ip_address(a) in ipaddress.ip_network(b) for b in censused)
    }
    assert found <= answered


def _unprobed(run: Run, block: str) -> list[str]:
    counts = run.counts[KAZAKHTELECOM.asn]
    return [a for a in _host_addresses(block) if a not in run.excluded and not counts.requests.get(a, 0)]


def test_excluded_addresses_are_never_probed_and_the_rest_of_the_blocks_is(run: Run) -> None:
    counts = run.counts[KAZAKHTELECOM.asn]
    assert all(counts.requests.get(address, 0) == 0 for address in run.excluded)
    # Every other address got its census echo (all of them: the test below).
    for block in KAZAKHTELECOM.space.blocks:
        assert len(_unprobed(run, block)) <= datasets.census_slots_per_round(TOPOLOGY), block


def test_the_first_census_probes_every_address_not_excluded(run: Run) -> None:
    assert {block: _unprobed(run, block) for block in KAZAKHTELECOM.space.blocks} == {
        block: [] for block in KAZAKHTELECOM.space.blocks
    }


def test_nothing_reaches_special_purpose_space_left_closed_or_other_countries(run: Run) -> None:
    closed = run.counts[CLOSED.asn]
    assert sum(closed.requests.values()) == 0 and set(closed.requests_per_block.values()) == {0}
    for autonomous_system in OUTSIDE_KZ:
        assert sum(run.counts[autonomous_system.asn].requests.values()) == 0, autonomous_system.asn


def test_at_most_one_probe_per_address_per_census_and_blocks_within_budget(run: Run) -> None:
    counts = run.counts[KAZAKHTELECOM.asn]
    # Addresses that never answered can never be reachability targets: every request they got is
    # discovery's. One per census at most.
    silent = [
        a for b in KAZAKHTELECOM.space.blocks for a in _host_addresses(b) if not counts.replies.get(a, 0)
    ]
    assert max(counts.requests.get(a, 0) for a in silent) <= run.censuses
    # A dark block never holds a target: its counter is discovery's alone, within the per-round
    # allowance of the hourly budget the lab gives the collector.
    allowance = datasets.discovery_budget_per_hour(TOPOLOGY) // math.ceil(3600 / TOPOLOGY.round_seconds)
    for block in run.lab.responder_plan.of(KAZAKHTELECOM.asn):
        if block.dark:
            sent = counts.requests_per_block[block.block]
            assert 256 - 16 <= sent <= min(allowance * run.rounds, 256 * run.censuses), (block.block, sent)
