"""Target discovery at Internet scale: census planning over the real datasets, and target selection.

    /work/venv/bin/python bench/discovery.py [--data DIR] [--probes 1000] [--hitlist-blocks 1000000]

1. Census, for the 10 largest countries (by IPv4 address space in the datasets) and for all
   countries of ../shared/data/ip-location-db (IPv4 ASN + country files): enumerate the address
   space (AsnDatabase.ipv4_ranges) and split it into /24 spans (space.split_into_blocks): blocks,
   time, peak memory; side by side with the naive peer "ipaddress splitting":
   ipaddress.summarize_address_range + IPv4Network.subnets(new_prefix=24) into a plain list of
   (network, asn, country) tuples, as one would write it first. Then one 5-minute round of the
   census planned (plan.plan_discovery_round, default config, a fleet of `--probes` synthetic
   probes) for the countries of `--plan-ranks` (by size; planning is linear in spans, so the
   figure per span carries to larger scopes), against the peer "a slot hash per address"
   (census.slot_unix_s for every address of every block, then the window test).
2. Selection: a synthetic hitlist (seeded) of `--hitlist-blocks` /24 blocks with 1-4 responders
   each, over 10,000 synthetic ASes of 1-5 prefixes; ours (selection.select_targets, per AS)
   against the naive peer "score every address": decode each block's 512-byte history blob,
   score all 256 addresses, sort the AS's candidates, take the best (on `--peer-hitlist-blocks`,
   a tenth: it is that slow; compared in blocks per second).

Every scenario runs in its own child process, so peak memory (ru_maxrss, minus the child's
footprint after loading the datasets; for a round's plan, tracemalloc's peak in a second run)
belongs to it alone. Times are CPU seconds
(time.process_time): the machine is shared. Nothing is sent anywhere: addresses are numbers.
Skips with a message when the data is absent.
"""

from __future__ import annotations

import argparse
import ipaddress
import itertools
import json
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

from vantage.collector.asn.database import AsnDatabase, Ipv4Range
from vantage.collector.assignment.model import ProbeSlot
from vantage.collector.discovery.campaigns import Campaign
from vantage.collector.discovery.census import epoch_of, slot_unix_s
from vantage.collector.discovery.config import DEFAULT_CENSUS_PERIOD_S, DiscoveryConfig, SelectionConfig
from vantage.collector.discovery.history import BlockHistory, score
from vantage.collector.discovery.plan import CampaignBlock, plan_discovery_round
from vantage.collector.discovery.policy import AddressPolicy
from vantage.collector.discovery.selection import select_targets
from vantage.collector.discovery.space import BlockSpan, count_blocks, split_into_blocks

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ip-location-db"
ROUND_S = 300.0
ROUND_NUMBER = 6_000_000  # some round in 2027; any round plans the same amount of work


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(data: Path) -> AsnDatabase:
    return AsnDatabase.load([data / "asn-ipv4.csv.gz", data / "geo-whois-asn-country-ipv4.csv.gz"])


def countries_by_size(db: AsnDatabase) -> list[str]:
    sizes: Counter[str] = Counter()
    for item in db.ipv4_ranges(countries=db.known_countries()):
        sizes[item.country] += item.size
    return [country for country, _ in sizes.most_common()]


def synthetic_probes(count: int) -> list[ProbeSlot]:
    rng = random.Random(14)
    countries = ["DE", "NL", "SE", "FI", "CH", "CA", "JP", "SG", "ZA", "BR"]
    return [
        ProbeSlot(f"probe-{i}", 65_000 + rng.randrange(200), rng.choice(countries), True, False)
        for i in range(count)
    ]


def naive_split(ranges: list[Ipv4Range]) -> list[tuple[ipaddress.IPv4Network, int, str]]:
    """The peer: ipaddress networks, /24 by /24, in a plain list."""
    out: list[tuple[ipaddress.IPv4Network, int, str]] = []
    for item in ranges:
        first, last = ipaddress.IPv4Address(item.first), ipaddress.IPv4Address(item.last)
        for network in ipaddress.summarize_address_range(first, last):
            if network.prefixlen >= 24:
                out.append((network.supernet(new_prefix=24), item.asn, item.country))
            else:
                out.extend((subnet, item.asn, item.country) for subnet in network.subnets(new_prefix=24))
    return out


def child_enumerate(data: Path, scope: str, impl: str) -> dict[str, float]:
    """Address space of the scope -> /24 spans (ours) or /24 networks (peer)."""
    db = load(data)
    ordered = countries_by_size(db)
    countries = ordered[:10] if scope == "top10" else ordered
    base_mb = peak_rss_mb()
    started = time.process_time()
    ranges = db.ipv4_ranges(countries=countries)
    if impl == "peer":
        pieces = naive_split(ranges)
        split_s = time.process_time() - started
        blocks = len({network for network, _, _ in pieces})
    else:
        spans = split_into_blocks(ranges)
        split_s = time.process_time() - started
        blocks, pieces_count = count_blocks(ranges), len(spans)
    return {
        "blocks": blocks,
        "spans": len(pieces) if impl == "peer" else pieces_count,
        "split_s": split_s,
        "peak_mb": peak_rss_mb() - base_mb,
    }


def naive_plan(spans: list[BlockSpan], started_unix_s: float, policy: AddressPolicy) -> int:
    """The peer: every address's slot computed on its own (one hash per address), then tested."""
    window_start = ROUND_NUMBER * ROUND_S
    epoch = epoch_of(window_start, DEFAULT_CENSUS_PERIOD_S)
    due = 0
    for span in spans:
        for host in range(span.first_host, span.last_host + 1):
            slot = slot_unix_s(span.block, host, epoch, DEFAULT_CENSUS_PERIOD_S, ROUND_S)
            if window_start <= slot < window_start + ROUND_S and slot >= started_unix_s:
                due += policy.permits(str(ipaddress.IPv4Address(span.address(host))))
    return due


def child_plan(data: Path, rank: int, impl: str, probe_count: int, traced: bool = True) -> dict[str, Any]:
    """One round of the census of the country ranked `rank` by address space (1 = largest);
    rank 0: one campaign of the 10 largest countries together."""
    db = load(data)
    countries = countries_by_size(db)[:10] if rank == 0 else [countries_by_size(db)[rank - 1]]
    country = "+".join(countries) if rank == 0 else countries[0]
    spans = split_into_blocks(db.ipv4_ranges(countries=countries))
    campaign = Campaign("bench", countries=tuple(countries), started_unix_s=0.0)
    campaign_blocks = [CampaignBlock("bench", span) for span in spans]
    probes = synthetic_probes(probe_count)

    def run() -> int:
        if impl == "peer":
            return naive_plan(spans, 0.0, AddressPolicy())
        plan = plan_discovery_round(
            [campaign], campaign_blocks, probes, ROUND_NUMBER, ROUND_S, DiscoveryConfig(), AddressPolicy()
        )
        return sum(len(tasks) for tasks in plan.values())

    started = time.process_time()
    tasks = run()
    plan_s = time.process_time() - started
    traced_peak = 0
    if traced:  # the plan's own allocations, in a second run (ru_maxrss still holds the load's peak)
        tracemalloc.start()
        run()
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "country": country,
        "spans": len(spans),
        "plan_s": plan_s,
        "tasks": tasks,
        "peak_mb": traced_peak / 2**20,
    }


def synthetic_hitlist(block_count: int) -> tuple[dict[int, list[Ipv4Range]], dict[int, BlockHistory]]:
    """10,000 ASes of 1-5 prefixes over `block_count` consecutive /24s from 11.0.0.0, 1-4 responders each."""
    rng = random.Random(2013)
    ases = 10_000
    first_block = 11 << 16
    cuts = sorted(rng.sample(range(1, block_count), ases - 1))
    bounds = [0, *cuts, block_count]
    prefixes: dict[int, list[Ipv4Range]] = {}
    for index in range(ases):
        start, end = first_block + bounds[index], first_block + bounds[index + 1]
        parts = min(end - start, rng.randint(1, 5))
        inner = sorted(rng.sample(range(start + 1, end), parts - 1)) if parts > 1 else []
        edges = [start, *inner, end]
        prefixes[64_512 + index] = [
            Ipv4Range(a << 8, (b << 8) - 1, 64_512 + index, "ZZ") for a, b in itertools.pairwise(edges)
        ]
    histories = {}
    for block in range(first_block, first_block + block_count):
        hosts = sorted(rng.sample(range(256), rng.randint(1, 4)))
        histories[block] = BlockHistory(block, 0, tuple(h << 16 | rng.randrange(1, 1 << 16) for h in hosts))
    return prefixes, histories


def naive_select(
    prefixes: list[Ipv4Range], blobs: dict[int, bytes], config: SelectionConfig
) -> list[tuple[int, str]]:
    """The peer: every address of every block scored from its blob, the AS's best M*K kept."""
    candidates: list[tuple[int, str]] = []
    for prefix in prefixes:
        for block in range(prefix.first >> 8, (prefix.last >> 8) + 1):
            blob = blobs.get(block)
            if blob is None:
                continue
            for host in range(256):
                value = score(int.from_bytes(blob[2 * host : 2 * host + 2], "little"))
                if value >= config.min_score:
                    candidates.append((-value, str(ipaddress.IPv4Address(block << 8 | host))))
    candidates.sort()
    return candidates[: config.max_blocks_per_as * config.targets_per_block]


def child_selection(block_count: int, impl: str) -> dict[str, float]:
    """Peak memory here includes the hitlist held in memory (ours: BlockHistory; peer: blobs)."""
    base_mb = peak_rss_mb()
    prefixes, histories = synthetic_hitlist(block_count)
    config = SelectionConfig()
    if impl == "peer":
        blobs = {block: history.to_blob() for block, history in histories.items()}
        del histories
        started = time.process_time()
        chosen = sum(len(naive_select(p, blobs, config)) for p in prefixes.values())
    else:
        started = time.process_time()
        chosen = sum(len(select_targets(asn, p, histories, config)) for asn, p in prefixes.items())
    return {"select_s": time.process_time() - started, "targets": chosen, "peak_mb": peak_rss_mb() - base_mb}


def run_child(*args: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"ip-location-db folder ({DEFAULT_DATA})"
    )
    parser.add_argument(
        "--probes", type=int, default=1000, help="synthetic probes in the fleet (default 1000)"
    )
    parser.add_argument(
        "--hitlist-blocks", type=int, default=1_000_000, help="synthetic hitlist size (1000000)"
    )
    parser.add_argument(
        "--peer-hitlist-blocks", type=int, default=100_000, help="hitlist size for the slow peer (100000)"
    )
    parser.add_argument(
        "--plan-ranks",
        type=int,
        nargs="+",
        default=[10, 60],
        help="plan one round for the countries of these size ranks (default 10 60)",
    )
    parser.add_argument(
        "--peer-all", action="store_true", help="also run the splitting peer on all countries (~5 GB)"
    )
    parser.add_argument(
        "--plan-top10",
        action="store_true",
        help="also plan one round of a campaign of the 10 largest countries together (minutes)",
    )
    parser.add_argument("--only-plan", action="store_true", help="run the round planning scenarios only")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "enumerate":
            print(json.dumps(child_enumerate(args.data, rest[0], rest[1])))
        elif kind == "plan":
            rank = int(rest[0])
            print(json.dumps(child_plan(args.data, rank, rest[1], args.probes, traced=rank != 0)))
        else:
            print(json.dumps(child_selection(args.hitlist_blocks, rest[0])))
        return 0
    if not (args.data / "asn-ipv4.csv.gz").is_file():
        print(f"skipped: the real dataset is not at {args.data} (only in the project's workplace)")
        return 0
    data = [
        "--data",
        str(args.data),
        "--probes",
        str(args.probes),
        "--hitlist-blocks",
        str(args.hitlist_blocks),
    ]
    if not args.only_plan:
        enumerate_scopes(args, data)
    plan_rounds(args, data)
    if not args.only_plan:
        selection(args, data)
    return 0


def enumerate_scopes(args: argparse.Namespace, data: list[str]) -> None:
    print("== census: the address space split into /24 blocks (real datasets)")
    for scope, label in (("top10", "10 largest countries"), ("all", "all countries")):
        ours = run_child(*data, "--child", "enumerate", scope, "ours")
        print(
            f"{label}: {ours['blocks']:,.0f} blocks ({ours['spans']:,.0f} spans); "
            f"ours {ours['split_s']:.1f} s, peak +{ours['peak_mb']:,.0f} MB"
        )
        if scope == "all" and not args.peer_all:
            continue
        peer = run_child(*data, "--child", "enumerate", scope, "peer")
        assert peer["blocks"] == ours["blocks"], (peer["blocks"], ours["blocks"])
        print(
            f"{label}: peer (ipaddress splitting) {peer['split_s']:.1f} s, peak +{peer['peak_mb']:,.0f} MB; "
            f"ratios {peer['split_s'] / ours['split_s']:.1f}x time, "
            f"{peer['peak_mb'] / max(ours['peak_mb'], 1):.1f}x memory"
        )


def plan_rounds(args: argparse.Namespace, data: list[str]) -> None:
    print(f"== census: one {ROUND_S:.0f} s round planned (default config, {args.probes} probes)")
    if args.plan_top10:
        ours = run_child(*data, "--child", "plan", "0", "ours")
        print(
            f"10 largest countries together ({ours['spans']:,.0f} spans): ours {ours['plan_s']:.1f} s "
            f"({1e6 * ours['plan_s'] / ours['spans']:.1f} us/span), {ours['tasks']:,.0f} tasks"
        )
    for rank in args.plan_ranks:
        ours = run_child(*data, "--child", "plan", str(rank), "ours")
        per_span_us = 1e6 * ours["plan_s"] / ours["spans"]
        print(
            f"country #{rank} ({ours['country']}, {ours['spans']:,.0f} spans): ours {ours['plan_s']:.1f} s "
            f"({per_span_us:.0f} us/span), {ours['tasks']:,.0f} tasks, peak +{ours['peak_mb']:,.0f} MB"
        )
        if rank == args.plan_ranks[-1]:
            peer = run_child(*data, "--child", "plan", str(rank), "peer")
            print(
                f"country #{rank}: peer (a slot hash per address) {peer['plan_s']:.1f} s, "
                f"{peer['tasks']:,.0f} addresses due; ratio {peer['plan_s'] / ours['plan_s']:.1f}x"
            )


def selection(args: argparse.Namespace, data: list[str]) -> None:
    print(f"== selection (synthetic hitlist of {args.hitlist_blocks:,} blocks, 10,000 ASes)")
    ours = run_child(*data, "--child", "selection", "ours")
    peer_data = [*data[:-1], str(args.peer_hitlist_blocks)]
    peer = run_child(*peer_data, "--child", "selection", "peer")
    ours_rate = args.hitlist_blocks / ours["select_s"]
    peer_rate = args.peer_hitlist_blocks / peer["select_s"]
    print(
        f"ours, select_targets per AS: {ours['select_s']:.1f} s ({ours_rate:,.0f} blocks/s), "
        f"{ours['targets']:,.0f} targets, peak +{ours['peak_mb']:,.0f} MB"
    )
    print(
        f"peer, score every address ({args.peer_hitlist_blocks:,} blocks): {peer['select_s']:.1f} s "
        f"({peer_rate:,.0f} blocks/s), {peer['targets']:,.0f} targets"
    )
    print(f"ratio (blocks/s): {ours_rate / peer_rate:.1f}x")


if __name__ == "__main__":
    sys.exit(main())
