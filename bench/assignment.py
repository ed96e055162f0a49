"""Work assignment at scale: assign_round for 1,000 probes × 75,000 target ASes, vs plain rendezvous.

    /work/venv/bin/python bench/assignment.py [--probes 1000] [--ases 75000] [--peer-ases 3000]

A synthetic fleet (seeded): probes spread over 400 ASes in 20 countries, 80 % with ICMP, half
with IPv6; one target per AS (documentation-range addresses: these are numbers, nothing is
measured), ICMP + TCP each, 10 % IPv6; plus a 1,000-URL country test list and a 1,500-URL
global list for the inside-out part.

Ours: `assign_round` (numpy computes rendezvous weights for blocks of ASes and keeps each AS's
best 40 probes; walks fall back to the full ranking when that prefix is not enough).
Peer: the same function with use_numpy=False, i.e. textbook rendezvous hashing that ranks the
whole fleet for every AS in Python, on the first --peer-ases ASes only (it is slow), and checked
to give the identical answer there. Prints CPU seconds (time.process_time: the machine is
shared), ASes/s for both and the ratio, tasks per probe (min / mean / max) and the share of ASes
whose vantage points come from K distinct ASes outside the target.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import statistics
import sys
import time

from vantage.collector.assignment.plan import AssignmentConfig, ProbeSlot, TargetSlot, assign_round
from vantage.kinds import Protocol, TaskKind

COUNTRIES = (
    "KZ",
    "RU",
    "BY",
    "IR",
    "FR",
    "DE",
    "US",
    "BR",
    "IN",
    "NG",
    "JP",
    "ID",
    "TR",
    "UA",
    "GB",
    "CN",
    "EG",
    "MX",
    "PK",
    "VN",
)


def fleet(count: int, seed: int) -> list[ProbeSlot]:
    rng = random.Random(seed)
    return [
        ProbeSlot(
            f"probe-{i:05d}",
            64512 + rng.randrange(400),
            rng.choice(COUNTRIES),
            rng.random() < 0.8,
            rng.random() < 0.5,
        )
        for i in range(count)
    ]


def targets(ases: int, seed: int) -> list[TargetSlot]:
    rng = random.Random(seed)
    v4 = ipaddress.ip_network("198.18.0.0/15")
    result = []
    for i in range(ases):
        address = f"2001:db8::{i:x}" if rng.random() < 0.1 else str(v4[i % v4.num_addresses])
        result.append(
            TargetSlot(
                f"as-{i}", address=address, port=443, protocols=(Protocol.ICMP, Protocol.TCP), asn=100_000 + i
            )
        )
    for i in range(1000):
        result.append(
            TargetSlot(
                f"kz-{i}",
                url=f"http://kz{i}.example.org/",
                name=f"kz{i}.example.org",
                port=80,
                protocols=(Protocol.HTTP,),
                tags=("NEWS", "list:KZ"),
            )
        )
    for i in range(1500):
        result.append(
            TargetSlot(
                f"gl-{i}",
                url=f"https://gl{i}.example.net/",
                name=f"gl{i}.example.net",
                port=443,
                protocols=(Protocol.HTTP,),
                tags=("NEWS", "list:global"),
            )
        )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--probes", type=int, default=1000, help="probes in the fleet (default 1000)")
    parser.add_argument(
        "--ases", type=int, default=75_000, help="target ASes, one target each (default 75000)"
    )
    parser.add_argument("--peer-ases", type=int, default=3000, help="ASes for the slow peer (default 3000)")
    args = parser.parse_args()
    config = AssignmentConfig()
    probes = fleet(args.probes, 1)
    all_targets = targets(args.ases, 2)
    lists = [t for t in all_targets if t.list_scopes]

    peer_targets = all_targets[: args.peer_ases]  # reachability only: the part that scales with ASes
    started = time.process_time()
    peer_plan = assign_round(probes, peer_targets, 7, config, use_numpy=False)
    peer_s = time.process_time() - started
    started = time.process_time()
    ours_small = assign_round(probes, peer_targets, 7, config)
    ours_small_s = time.process_time() - started
    assert ours_small == peer_plan, "the accelerated assignment must equal the plain one"

    started = time.process_time()
    plan = assign_round(probes, all_targets, 7, config)
    ours_s = time.process_time() - started

    loads = [len(tasks) for tasks in plan.values()]
    by_target: dict[tuple[str, Protocol], set[str]] = {}
    for probe_id, tasks in plan.items():
        for task in tasks:
            if task.kind is TaskKind.REACHABILITY:
                by_target.setdefault((task.target_id, task.protocol), set()).add(probe_id)
    asn_of = {p.probe_id: p.asn for p in probes}
    target_asn = {t.target_id: t.asn for t in all_targets}
    distinct = sum(
        1
        for (target_id, _), chosen in by_target.items()
        if len({asn_of[p] for p in chosen} - {target_asn[target_id]}) >= config.vantage_points_per_as
    )
    print(f"fleet {args.probes:,} probes; {args.ases:,} target ASes + {len(lists):,} test-list URLs")
    print(
        f"ours (numpy prefixes), all ASes:   {ours_s:7.2f} s CPU  {args.ases / ours_s:>9,.0f} ASes/s  "
        f"{sum(loads):,} tasks"
    )
    print(
        f"ours, first {args.peer_ases:,} ASes:         {ours_small_s:7.2f} s CPU  "
        f"{args.peer_ases / ours_small_s:>9,.0f} ASes/s"
    )
    print(
        f"peer (full ranking per AS), same:  {peer_s:7.2f} s CPU  {args.peer_ases / peer_s:>9,.0f} ASes/s  "
        f"(identical answer: yes)"
    )
    print(f"ratio ours/peer on the same input: {peer_s / ours_small_s:.1f}x")
    print(f"tasks per probe: min {min(loads)}, mean {statistics.mean(loads):.0f}, max {max(loads)}")
    print(
        f"(target, protocol) pairs seen from K distinct outside ASes: {distinct / max(1, len(by_target)):.1%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
