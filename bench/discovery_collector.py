"""The collector's side of discovery at scale: one round of a country-sized campaign on SQLite.

    .venv/bin/python bench/discovery_collector.py [--blocks 20000] [--ases 200] [--probes 300]

A synthetic dataset (iptoasn TSV) gives one country --blocks /24s spread over --ases ASes (in
100.64.0.0/10 and beyond: these are numbers, nothing is sent), and a fleet of --probes probes
outside it. With the defaults of a real deployment (5-minute rounds, a daily census, the default
budget and rate), it times, in CPU seconds (time.process_time: the machine is shared):
the campaign's space (datasets -> /24 spans, once per campaign), one round's census plan (what
GetWork adds), folding that round's results into the block histories (half the addresses
answer), target selection over every AS, progress and coverage (what ListDiscovery, GetCoverage
and the metrics read each round).
"""

from __future__ import annotations

import argparse
import ipaddress
import tempfile
import time
import uuid
from pathlib import Path

from vantage.collector.assignment.model import ProbeSlot
from vantage.collector.discovery.policy import AddressPolicy, parse_network
from vantage.collector.service.discovery import DiscoveryBounds, DiscoveryRuntime
from vantage.collector.service.locator import Locator
from vantage.collector.storage.records import CampaignRecord, RoundMeasurement
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.kinds import Outcome, TaskKind

ROUND_S = 300.0
FIRST = int(ipaddress.IPv4Address("100.64.0.0"))


def timed(label: str, function, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.process_time()
    result = function(*args, **kwargs)
    print(f"{label:<44} {time.process_time() - started:8.3f} s")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blocks", type=int, default=20_000)
    parser.add_argument("--ases", type=int, default=200)
    parser.add_argument("--probes", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        dataset = folder / "asn.tsv"
        per_as = max(1, args.blocks // args.ases)
        with dataset.open("w") as out:
            for n in range(args.ases):
                first = FIRST + n * per_as * 256
                last = first + per_as * 256 - 1
                span = f"{ipaddress.IPv4Address(first)}\t{ipaddress.IPv4Address(last)}"
                out.write(f"{span}\t{64512 + n}\tKZ\tAS-{n}\n")
        locator = Locator([dataset])
        storage = SqliteStorage(folder / "collector.sqlite3")
        runtime = DiscoveryRuntime(storage, locator, ROUND_S, DiscoveryBounds(15, 100.0))
        now = time.time()
        record = CampaignRecord(uuid.uuid4().hex[:16], ("KZ",), (), 86400.0, 7 * 86400.0, now - 3600)
        storage.add_campaign(record)
        probes = [ProbeSlot(f"p{n}", 65000 + n % 50, "NL", icmp=True, ipv6=False) for n in range(args.probes)]
        # The benchmark's numbers sit in 100.64.0.0/10 (shared address space): opened, as a lab would.
        policy = AddressPolicy(allowed=[parse_network("100.64.0.0/10"), parse_network("100.128.0.0/9")])
        space = timed("campaign space (datasets -> spans)", runtime.space, record)
        round_number = int(now // ROUND_S)
        plan = timed(
            "census plan of one round (GetWork)", runtime.census_tasks, probes, round_number, policy, 0
        )
        tasks = [(probe_id, spec) for probe_id, specs in plan.items() for spec in specs]
        results = [
            RoundMeasurement(
                str(uuid.uuid4()),
                probe_id,
                0,
                "NL",
                spec.target_id,
                spec.address,
                0,
                1,
                int(TaskKind.DISCOVERY),
                int(Outcome.OK if n % 2 else Outcome.FAILURE),
                "",
                None,
                None,
                0,
                "",
                0,
                "",
            )
            for n, (probe_id, spec) in enumerate(tasks)
        ]
        blocks = timed("fold results into block histories", runtime.after_round, round_number, results, now)
        timed("select targets (every AS)", runtime.refresh_targets, now)
        timed("progress (ListDiscovery, metrics)", runtime.progress, record, now)
        timed("coverage rows (GetCoverage, gate, metrics)", runtime.coverage_rows, probes)
        print(
            f"{len(space.spans)} blocks in {args.ases} ASes, {len(tasks)} census tasks this round over"
            f" {sum(1 for specs in plan.values() if specs)} probes, {blocks} block histories written"
        )
        storage.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
