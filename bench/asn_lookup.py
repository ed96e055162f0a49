"""IP -> AS lookups on the full real ip-location-db dataset, side by side with naive peers.

    /work/venv/bin/python bench/asn_lookup.py [--lookups 200000] [--data DIR]

Loads ../shared/data/ip-location-db (IPv4 ASN file, 411,961 ranges, plus the IPv4 country
file; then all four files) with AsnDatabase.load and times it; then looks up random IPv4
addresses (seeded; they are only numbers here, nothing is sent anywhere) with:

- ours, one at a time: `AsnDatabase.lookup(text)` (bisect over 32-bit arrays, two tables);
- ours, batched: `AsnDatabase.lookup_many(texts)` (vectorised bisect, for ingest batches);
- peer 1, "bisect over tuples": the textbook version: `ipaddress.ip_address` to parse, then
  `bisect` over a list of (start, end, asn) tuples loaded with the csv module;
- peer 2, "linear scan": `ipaddress` and a scan of every range (on a small sample only).

Times are CPU seconds of this process (time.process_time): the machine is shared with other
work, and wall-clock time would measure the neighbours. Prints load times, lookups/s and the
ratios ours/peer. Bar (issue 4): hundreds of thousands of
lookups per second, and a load of a few seconds. Skips with a message when the data is absent.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import ipaddress
import random
import sys
import time
from bisect import bisect_right
from pathlib import Path

from vantage.collector.asn.database import AsnDatabase

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ip-location-db"


def random_ipv4(count: int, seed: int = 2026) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        for _ in range(count)
    ]


def naive_load(path: Path) -> list[tuple[int, int, int]]:
    """The textbook loader: csv + ipaddress for every row, then a sort."""
    rows = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for first, last, asn, _name in csv.reader(handle):
            rows.append((int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last)), int(asn)))
    rows.sort()
    return rows


def naive_bisect_lookup(rows: list[tuple[int, int, int]], address: str) -> int | None:
    value = int(ipaddress.ip_address(address))
    index = bisect_right(rows, (value, 1 << 129, 0)) - 1
    if index >= 0 and value <= rows[index][1]:
        return rows[index][2]
    return None


def naive_scan_lookup(rows: list[tuple[int, int, int]], address: str) -> int | None:
    value = int(ipaddress.ip_address(address))
    for first, last, asn in rows:
        if first <= value <= last:
            return asn
    return None


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f}/s"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--lookups", type=int, default=200_000, help="random IPv4 lookups per method (default 200000)"
    )
    parser.add_argument(
        "--scan-lookups", type=int, default=200, help="lookups for the linear-scan peer (default 200)"
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"ip-location-db folder (default {DEFAULT_DATA})"
    )
    args = parser.parse_args()
    asn_v4 = args.data / "asn-ipv4.csv.gz"
    if not asn_v4.is_file():
        print(f"skipped: the real dataset is not at {args.data} (only in the project's workplace)")
        return 0
    country_v4 = args.data / "geo-whois-asn-country-ipv4.csv.gz"
    v6_files = [args.data / "asn-ipv6.csv.gz", args.data / "geo-whois-asn-country-ipv6.csv.gz"]

    print("== load")
    started = time.process_time()
    AsnDatabase.load([asn_v4])
    ours_load_s = time.process_time() - started
    started = time.process_time()
    naive_rows = naive_load(asn_v4)
    naive_load_s = time.process_time() - started
    print(
        f"IPv4 ASN file ({len(naive_rows):,} ranges): ours {ours_load_s:.2f} s, csv+ipaddress peer "
        f"{naive_load_s:.2f} s, ratio {naive_load_s / ours_load_s:.1f}x"
    )
    started = time.process_time()
    db = AsnDatabase.load([asn_v4, country_v4])
    print(f"IPv4 ASN + country files ({db.range_count:,} ranges): ours {time.process_time() - started:.2f} s")
    if all(path.is_file() for path in v6_files):
        started = time.process_time()
        everything = AsnDatabase.load([asn_v4, country_v4, *v6_files])
        print(
            f"all four files ({everything.range_count:,} ranges): ours {time.process_time() - started:.2f} s"
        )

    print(f"== lookups ({args.lookups:,} random IPv4 addresses)")
    addresses = random_ipv4(args.lookups)
    lookup = db.lookup
    started = time.process_time()
    ours = [lookup(address) for address in addresses]
    ours_s = time.process_time() - started
    started = time.process_time()
    batched = db.lookup_many(addresses)
    batched_s = time.process_time() - started
    started = time.process_time()
    peer = [naive_bisect_lookup(naive_rows, address) for address in addresses]
    peer_s = time.process_time() - started
    sample = addresses[: args.scan_lookups]
    started = time.process_time()
    scanned = [naive_scan_lookup(naive_rows, address) for address in sample]
    scan_s = time.process_time() - started
    # Same answers (ours also merges the country file; compare AS numbers only).
    assert batched == ours
    assert [info.asn if info and info.asn else None for info in ours] == peer
    assert [info.asn if info and info.asn else None for info in ours[: len(sample)]] == scanned
    print(f"ours, lookup() one at a time (AS + country): {rate(len(addresses), ours_s)}")
    print(f"ours, lookup_many() batched  (AS + country): {rate(len(addresses), batched_s)}")
    print(f"peer, ipaddress + bisect over tuples (AS):   {rate(len(addresses), peer_s)}")
    print(f"peer, ipaddress + linear scan (AS):          {rate(len(sample), scan_s)}")
    print(
        f"ratios: lookup/bisect-peer {peer_s / ours_s:.1f}x, "
        f"lookup_many/bisect-peer {peer_s / batched_s:.1f}x, "
        f"lookup/linear-scan {(scan_s / len(sample)) / (ours_s / len(addresses)):,.0f}x"
    )
    found = sum(1 for info in ours if info is not None)
    print(f"({found / len(ours):.0%} of random addresses are in some range)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
