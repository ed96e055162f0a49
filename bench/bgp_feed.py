"""Route feeds and per-AS visibility, side by side with named peers.

    .venv/bin/python bench/bgp_feed.py [--messages 20000] [--prefixes 1000000] [--ases 75000] [--peers 20]

1. Updates per second through parse + table, per source format, against the format's raw
   parse alone (what any consumer pays before doing anything):
   - RIS Live JSON (seeded messages of RIS Live's shape) vs `json.loads` alone;
   - ExaBGP JSON (ExaBGP 5's shape) vs `json.loads` alone;
   - MRT BGP4MP (the quagga_bgp sample of t2mune/mrtparse, its records repeated) vs
     iterating `mrtparse.Reader` alone.
2. The visibility computation for a synthetic full table (seeded: about a million IPv4
   prefixes, 75,000 origin ASes, 20 full-feed peers, 5% of prefixes carried by only some
   peers, 10% more-specifics inside the same AS's prefixes) vs a naive peer: per-prefix peer
   sets and `ipaddress.collapse_addresses` per AS; both results are compared AS by AS. Then
   the rounds after it: ours recomputes only the prefixes that changed (an unchanged table,
   and a round of churn: --churn withdrawals), where the naive peer recomputes everything.

Times are CPU seconds of this process (time.process_time): the machine is shared. Nothing
is sent anywhere: every address is a number in memory.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from vantage.collector.bgp.feed import RoutingFeed
from vantage.collector.bgp.model import FeedStatus, RouteUpdate, RoutingState
from vantage.collector.bgp.mrt_files import mrtparse, read_mrt
from vantage.collector.bgp.table import RoutingTable

SAMPLE_MRT = Path(__file__).resolve().parent.parent / "tests" / "collector" / "bgp" / "data" / "quagga_bgp"
SEED = 2026
T0 = 1_800_000_000.0


def cpu(work: Callable[[], object]) -> tuple[float, object]:
    started = time.process_time()
    result = work()
    return time.process_time() - started, result


def random_prefix(rng: random.Random, length: int) -> str:
    network = rng.randrange(1 << 24, 224 << 24) >> (32 - length) << (32 - length)
    return f"{ipaddress.IPv4Address(network)}/{length}"


def ris_messages(count: int, rng: random.Random) -> list[str]:
    messages = []
    for index in range(count):
        peer = f"192.0.2.{index % 20 + 1}"
        prefixes = [
            random_prefix(rng, rng.choice((16, 20, 22, 24, 24, 24))) for _ in range(rng.randint(1, 3))
        ]
        withdraw = index % 5 == 4
        data = {
            "timestamp": T0 + index * 0.01,
            "peer": peer,
            "peer_asn": "64500",
            "id": f"{peer}-{index}",
            "host": "rrc00.ripe.net",
            "type": "UPDATE",
            "path": [] if withdraw else [64500, 3356, rng.randrange(1, 75_000)],
            "community": [[64500, 100]],
            "origin": "IGP",
            "announcements": [] if withdraw else [{"next_hop": peer, "prefixes": prefixes}],
            "withdrawals": prefixes if withdraw else [],
        }
        messages.append(json.dumps({"type": "ris_message", "data": data}))
    return messages


def exabgp_messages(count: int, rng: random.Random) -> list[str]:
    messages = []
    for index in range(count):
        peer = f"198.18.0.{index % 20 + 1}"
        prefixes = [
            {"nlri": random_prefix(rng, rng.choice((16, 20, 22, 24, 24, 24)))}
            for _ in range(rng.randint(1, 3))
        ]
        update: dict[str, object]
        if index % 5 == 4:
            update = {"withdraw": {"ipv4 unicast": prefixes}}
        else:
            path = {"0": {"element": "as-sequence", "value": [64500, 3356, rng.randrange(1, 75_000)]}}
            update = {
                "attribute": {"origin": "igp", "as-path": path},
                "announce": {"ipv4 unicast": {peer: prefixes}},
            }
        message = {
            "exabgp": "5.0.0",
            "time": T0 + index * 0.01,
            "host": "lab",
            "pid": 1,
            "ppid": 1,
            "counter": index,
            "type": "update",
            "neighbor": {
                "address": {"local": "198.18.0.254", "peer": peer},
                "asn": {"local": 64500, "peer": 64501},
                "direction": "receive",
                "message": {"update": update},
            },
        }
        messages.append(json.dumps(message))
    return messages


def bench_text(name: str, fmt: str, messages: list[str]) -> None:
    feed = RoutingFeed()
    feed.set_status(FeedStatus(name, True, True, T0))
    ours_s, _ = cpu(lambda: [feed.line(name, fmt, message) for message in messages])
    peer_s, _ = cpu(lambda: [json.loads(message) for message in messages])
    updates = sum(feed.tally.parsed_counts.values())
    print(
        f"{name:10s} {len(messages) / ours_s:10.0f} msg/s parse+table   json.loads alone "
        f"{len(messages) / peer_s:10.0f} msg/s   ours/peer {peer_s / ours_s:.2f}  ({updates} parsed)"
    )


def bench_mrt(repeats: int) -> None:
    sample = SAMPLE_MRT.read_bytes()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "updates.mrt"
        path.write_bytes(sample * repeats)
        raw_s, records = cpu(lambda: sum(1 for _ in mrtparse.Reader(str(path))))
        table = RoutingTable()
        table.set_source("mrt", connected=True, table_loaded=True)

        def ours() -> int:
            count = 0
            for message in read_mrt(path):
                if not isinstance(message, Exception):
                    table.apply("mrt", message)
                count += 1
            return count

        ours_s, _ = cpu(ours)
    print(
        f"{'mrt':10s} {records / ours_s:10.0f} rec/s parse+table   mrtparse.Reader alone "  # type: ignore[operator]
        f"{records / raw_s:10.0f} rec/s   ours/peer {raw_s / ours_s:.2f}  ({records} records)"  # type: ignore[operator]
    )


def synthetic_table(prefixes: int, ases: int, peers: int, rng: random.Random) -> list[tuple[str, int, int]]:
    """(prefix, origin, mask of the peers carrying it): distinct prefixes, Zipf-like ASes."""
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(ases)]
    origins = rng.choices(range(1, ases + 1), weights=weights, k=prefixes)
    lengths = rng.choices((16, 18, 19, 20, 21, 22, 23, 24), weights=(2, 2, 3, 6, 5, 10, 10, 62), k=prefixes)
    everyone = (1 << peers) - 1
    seen: set[str] = set()
    table: list[tuple[str, int, int]] = []
    by_as: dict[int, list[str]] = defaultdict(list)
    for origin, length in zip(origins, lengths, strict=True):
        if by_as[origin] and rng.random() < 0.1:  # a more-specific inside the AS's own prefix
            cover = ipaddress.IPv4Network(rng.choice(by_as[origin]))
            if cover.prefixlen < 24:
                offset = rng.randrange(0, 1 << (24 - cover.prefixlen)) << 8
                prefix = f"{ipaddress.IPv4Address(int(cover.network_address) + offset)}/24"
            else:
                prefix = random_prefix(rng, length)
        else:
            prefix = random_prefix(rng, length)
        if prefix in seen:
            continue
        seen.add(prefix)
        by_as[origin].append(prefix)
        mask = everyone if rng.random() >= 0.05 else rng.getrandbits(peers)
        table.append((prefix, origin, mask))
    return table


def bench_visibility(prefixes: int, ases: int, peers: int, args_churn: int) -> None:
    rng = random.Random(SEED)
    started = time.process_time()
    rows = synthetic_table(prefixes, ases, peers, rng)
    names = [f"peer{index}" for index in range(peers)]
    table = RoutingTable()
    table.set_source("rib", connected=True, table_loaded=True)
    by_mask: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    for prefix, origin, mask in rows:
        by_mask[mask].append((prefix, origin))
    table.load_routes("rib", names, [])  # fixes the peers' bits in order
    for mask, routes in by_mask.items():
        table.load_routes("rib", [names[i] for i in range(peers) if mask >> i & 1], routes)
    print(
        f"synthetic table: {len(rows)} prefixes, {len(set(o for _, o, _ in rows))} ASes, {peers} peers "
        f"(built in {time.process_time() - started:.1f} s)"
    )
    full_s, result = cpu(lambda: table.visibility(T0))
    steady_s, _ = cpu(lambda: table.visibility(T0 + 300))
    # A round's worth of churn: RIS Live carries a few hundred updates a second per collector.
    churn = [
        RouteUpdate(names[i % peers], 64500, rows[i][0], True, (), None, T0 + 400) for i in range(args_churn)
    ]
    for update in churn:
        table.update("rib", update)
    churn_s, _ = cpu(lambda: table.visibility(T0 + 600))

    def naive() -> dict[int, int]:
        carried: dict[str, set[str]] = {}
        origin_of: dict[str, int] = {}
        for prefix, origin, mask in rows:
            carried[prefix] = {names[i] for i in range(peers) if mask >> i & 1}
            origin_of[prefix] = origin
        visible: dict[int, list[ipaddress.IPv4Network]] = defaultdict(list)
        for prefix, seen_by in carried.items():
            if len(seen_by) > peers / 2:
                visible[origin_of[prefix]].append(ipaddress.IPv4Network(prefix))
        return {
            asn: sum(net.num_addresses for net in ipaddress.collapse_addresses(networks))
            for asn, networks in visible.items()
        }

    naive_s, expected = cpu(naive)
    ours = {asn: r.visible_addresses for asn, r in result.items() if r.visible_prefixes}  # type: ignore[attr-defined]
    assert ours == expected, "ours and the naive peer disagree"
    states = defaultdict(int)
    for routing in result.values():  # type: ignore[attr-defined]
        states[RoutingState(routing.state).name] += 1
    print(
        f"visibility, whole table: ours {full_s:.2f} s   naive {naive_s:.2f} s   naive/ours "
        f"{naive_s / full_s:.1f}   (results equal for {len(expected)} ASes)"
    )
    print(
        f"visibility per round after that: unchanged table {steady_s:.2f} s, after {args_churn} withdrawals "
        f"{churn_s:.2f} s   naive/ours {naive_s / churn_s:.0f} (the naive peer recomputes everything)"
    )
    print(f"states: {dict(states)}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--mrt-repeats", type=int, default=200)
    parser.add_argument("--prefixes", type=int, default=1_000_000)
    parser.add_argument("--ases", type=int, default=75_000)
    parser.add_argument("--peers", type=int, default=20)
    parser.add_argument(
        "--churn", type=int, default=60_000, help="updates between two rounds (default: 200/s)"
    )
    args = parser.parse_args()
    rng = random.Random(SEED)
    bench_text("ris-live", "ris-live", ris_messages(args.messages, rng))
    bench_text("exabgp", "exabgp", exabgp_messages(args.messages, rng))
    bench_mrt(args.mrt_repeats)
    bench_visibility(args.prefixes, args.ases, args.peers, args.churn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
