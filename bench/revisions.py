"""A probe returns after a day offline with its results: how long the collector takes to revise.

    .venv/bin/python bench/revisions.py [--rounds 288] [--results 100000] [--probes 30]

A real SQLite collector in-process (injected clock, RoundLoop.step(), nothing on the network):
--probes probes outside measure 30 targets in 10 ASes each round for --rounds rounds; one more
probe was offline for all of them and uploads --results results of those rounds (spread evenly)
once the last round is computed. Then live rounds go on, one step each, while the recomputation
catches up a tenth of a round per step (the default budget). Prints the time to compute a live
round before the flood, each step's time during the catch-up (a live round plus a share of the
recomputation), the number of steps and the wall time until every round is revised.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.collector.batches import MeasurementRow, batch_of
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.locator import Locator
from vantage.collector.service.round_loop import RoundLoop
from vantage.collector.storage.records import EnrollmentToken, ProbeRecord, TargetRecord
from vantage.collector.storage.sqlite import SqliteStorage

ROUND_S = 300.0
FIRST = 5_892_000
TARGETS = [(f"192.0.2.{n + 1}", 64500 + n // 3, "KZ" if n < 15 else "NL") for n in range(30)]


def row(probe: str, asn: int, number: int, address: str, target_asn: int, received: float) -> MeasurementRow:
    return MeasurementRow(
        str(uuid.uuid4()), probe, number, "", address, address, target_asn, asn, "DE", 1, 1, "", 20.0,
        0.0, 0, "", 0, "", number * ROUND_S + 10, received, b"",
    )  # fmt: skip


async def main_async(args: argparse.Namespace, db: Path) -> None:
    storage = SqliteStorage(db)
    now = [FIRST * ROUND_S]
    app = CollectorApp(
        storage,
        CollectorConfig(collector_id="bench", round_seconds=ROUND_S),
        Locator(()),
        clock=lambda: now[0],
    )
    names = [f"p{n}" for n in range(args.probes)] + ["returning"]
    for n, name in enumerate(names):
        storage.add_enrollment_token(EnrollmentToken(f"t{n}", f"h{n}", "", 0.0, 1e12))
        storage.enroll_probe(
            f"h{n}", ProbeRecord(name, name, f"c{n}", 0.0, pinned_asn=65000 + n, pinned_country="DE"), 0.0
        )
    storage.upsert_targets(
        [TargetRecord(a, a, "address", (1,), c, asn, (), "csv", a, 0.0) for a, asn, c in TARGETS]
    )
    loop = RoundLoop(app)
    live_s = []
    for offset in range(args.rounds):
        number = FIRST + offset
        for n in range(args.probes):
            storage.ingest(
                batch_of(
                    [row(f"p{n}", 65000 + n, number, a, t, number * ROUND_S + 20) for a, t, _ in TARGETS]
                )
            )
        now[0] = (number + 1.2) * ROUND_S
        started = time.perf_counter()
        await loop.step()
        live_s.append(time.perf_counter() - started)
    per_round = max(1, args.results // args.rounds)
    rows = [
        row("returning", 65000 + args.probes, FIRST + offset, TARGETS[i % 30][0], TARGETS[i % 30][1], now[0])
        for offset in range(args.rounds)
        for i in range(per_round)
    ]
    for start in range(0, len(rows), 5000):
        storage.ingest(batch_of(rows[start : start + 5000]))
    print(
        f"{args.rounds} rounds of {args.probes * 30} results; "
        f"live round {sorted(live_s)[len(live_s) // 2]:.3f} s (median)"
    )
    print(f"flood: {len(rows)} late results of {args.rounds} rounds from one probe")
    caught_up = time.perf_counter()
    steps = []
    number = FIRST + args.rounds
    while True:
        for n in range(args.probes):
            storage.ingest(
                batch_of(
                    [row(f"p{n}", 65000 + n, number, a, t, number * ROUND_S + 20) for a, t, _ in TARGETS]
                )
            )
        now[0] = (number + 1.2) * ROUND_S
        started = time.perf_counter()
        computed = await loop.step()
        steps.append(time.perf_counter() - started)
        assert computed is not None and computed.number == number  # the live round was computed
        number += 1
        if loop.reviser.job is None and storage.pending_revision() is None and len(steps) > 1:
            break
    wall = time.perf_counter() - caught_up
    revised = storage.round_revisions(0, 2**62)
    print(
        f"caught up in {len(steps)} live rounds ({wall:.1f} s of work); each step (live round + share) "
        f"median {sorted(steps)[len(steps) // 2]:.3f} s, max {max(steps):.3f} s; "
        f"{len(revised)} rounds revised"
    )
    app.close()
    storage.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=288)
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main_async(args, Path(folder) / "bench.sqlite3"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
