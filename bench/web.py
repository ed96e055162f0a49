"""`vantage web` under load at Internet scale, side by side with a static file from the same server.

    .venv/bin/python bench/web.py [--ases 75000] [--countries 240] [--requests 300] [--concurrency 8]

A real collector (SQLite) holds the latest round for --ases ASes in --countries
countries (5 % of them not UP, one country, KZ, cut) and twelve hourly rounds of
history for KZ and its ASes; `vantage web` runs in front of it as its own
process, and this script is the client (aiohttp, --concurrency requests in
flight, loopback only, a bounded number of requests). For the overview, the KZ
page and the KZ chart (SVG) it measures:

  cold     every request misses the web's round cache (a distinct query string):
           the collector is asked and the page rendered each time;
  cached   the same address again: the body rendered for this round, from memory;
  304      a conditional GET with the round's ETag: headers only.

The peer is /static/style.css served by the same aiohttp server: the ceiling for
any response on this machine. Requests per second and p50/p99 latency; the
machine is shared, so only the ratios travel.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vantage.collector.storage.records import (  # noqa: E402
    RoundRecord,
    RoundResult,
    StoredAsVerdict,
    StoredCountryVerdict,
)
from vantage.collector.storage.sqlite import SqliteStorage  # noqa: E402
from vantage.v1 import query_service_pb2 as q  # noqa: E402

ROUND_S = 3600.0
LAST_ROUND = int(1767600000 // ROUND_S)  # 2026-01-05T08:00Z
HISTORY_ROUNDS = 12
CUT_COUNTRY = "KZ"


def _as_status(asn: int, country: str, status: int, round_number: int) -> q.AsStatus:
    message = q.AsStatus(
        asn=asn,
        as_name=f"Network {asn}",
        country=country,
        status=status,  # type: ignore[arg-type]
        confidence=0.9,
        round=round_number,
        algorithm_version="bench",
    )
    message.round_start.FromSeconds(int(round_number * ROUND_S))
    message.since.FromSeconds(int((LAST_ROUND - 3) * ROUND_S))
    e = message.evidence
    e.vantage_points, e.vantage_ases, e.targets = 5, 4, 12
    e.summary = (
        f"AS{asn} ({country}) {q.Status.Name(status)[7:]}: 7/12 targets answered from 5 vantage points"
    )
    e.protocols.add(protocol=1, attempts=12, successes=7)
    e.failures.add(failure="generic_timeout_error", protocol=1, count=5)
    return message


def build_database(path: Path, ases: int, countries: int, seed: int) -> None:
    rng = random.Random(seed)
    codes = [CUT_COUNTRY] + [chr(65 + i // 26) + chr(66 + i % 25) for i in range(countries - 1)]
    placed = [(1000 + n, codes[n % countries]) for n in range(ases)]
    storage = SqliteStorage(path)
    try:
        for round_number in range(LAST_ROUND - HISTORY_ROUNDS + 1, LAST_ROUND + 1):
            cut = round_number > LAST_ROUND - 4
            rows, country_rows = [], []
            for asn, country in placed:
                if round_number < LAST_ROUND and country != CUT_COUNTRY:
                    continue  # history only where the benchmark looks
                if country == CUT_COUNTRY:
                    status = q.STATUS_DOWN if cut else q.STATUS_UP
                else:
                    status = (
                        q.STATUS_UP if rng.random() > 0.05 else rng.choice((q.STATUS_DEGRADED, q.STATUS_DOWN))
                    )
                message = _as_status(asn, country, status, round_number)
                rows.append(
                    StoredAsVerdict(
                        round_number,
                        round_number * ROUND_S,
                        asn,
                        country,
                        int(status),
                        0.9,
                        0.5,
                        0.0 if status == q.STATUS_DOWN else 1.0,
                        message.SerializeToString(),
                    )
                )
            for country in codes if round_number == LAST_ROUND else [CUT_COUNTRY]:
                down = country == CUT_COUNTRY and cut
                status = q.STATUS_DOWN if down else q.STATUS_UP
                message = q.CountryStatus(  # type: ignore[call-overload]
                    country=country,
                    status=status,
                    confidence=0.9,
                    round=round_number,
                    measured_ases=ases // countries,
                    summary=f"{country} bench",
                )
                message.round_start.FromSeconds(int(round_number * ROUND_S))
                country_rows.append(
                    StoredCountryVerdict(
                        round_number,
                        round_number * ROUND_S,
                        country,
                        int(status),
                        0.9,
                        0.0 if down else 1.0,
                        message.SerializeToString(),
                    )
                )
            record = RoundRecord(
                round_number,
                round_number * ROUND_S,
                ROUND_S,
                "bench",
                round_number * ROUND_S,
                computed_at_unix_s=(round_number + 1) * ROUND_S,
            )
            assert storage.claim_round(record)
            storage.store_round_result(RoundResult(record, tuple(rows), tuple(country_rows), (), b""))
    finally:
        storage.close()


def _started(process: subprocess.Popen[str], marker: str) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    for line in process.stdout:
        if marker in line:
            return line
        if time.monotonic() > deadline:
            break
    raise SystemExit(f"no {marker!r} from {process.args}")


async def measure(
    url: str, *, requests: int, concurrency: int, cold: bool, etag: str | None
) -> tuple[float, list[float]]:
    import aiohttp

    latencies: list[float] = []
    counter = iter(range(requests))
    headers = {"Accept-Encoding": "gzip"} | ({"If-None-Match": etag} if etag else {})
    separator = "&" if "?" in url else "?"

    async def worker(session: aiohttp.ClientSession) -> None:
        for n in counter:
            target = f"{url}{separator}bench={n}-{random.random()}" if cold else url
            started = time.perf_counter()
            async with session.get(target, headers=headers) as response:
                await response.read()
                assert response.status == (304 if etag else 200), (target, response.status)
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def report(name: str, wall_s: float, latencies: list[float], peer_rps: float | None) -> float:
    rps = len(latencies) / wall_s
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    ratio = f"  {rps / peer_rps:6.1%} of static" if peer_rps else ""
    print(
        f"{name:28} {rps:9.1f} req/s   p50 {1000 * statistics.median(latencies):7.1f} ms   "
        f"p99 {1000 * p99:7.1f} ms{ratio}",
        flush=True,
    )
    return rps


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ases", type=int, default=75_000)
    parser.add_argument("--countries", type=int, default=240)
    parser.add_argument(
        "--requests", type=int, default=300, help="requests per cached/304/static measurement"
    )
    parser.add_argument("--cold-requests", type=int, default=20, help="requests per cold measurement")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import aiohttp  # noqa: F401  (fail early without the web extra)

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "collector"
        data_dir.mkdir()
        started = time.perf_counter()
        build_database(data_dir / "collector.sqlite3", args.ases, args.countries, args.seed)
        print(
            f"database: {args.ases} ASes, {args.countries} countries in {time.perf_counter() - started:.1f} s"
        )
        vantage = [sys.executable, "-m", "vantage.cli"]
        collector = subprocess.Popen(
            [
                *vantage,
                "collector",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                str(data_dir),
                "--plaintext",
                "--round-seconds",
                str(int(ROUND_S)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert collector.stderr is not None
            for line in collector.stderr:
                if "collector listening on" in line:
                    address = line.split("collector listening on")[1].split()[0]
                    break
            web = subprocess.Popen(
                [*vantage, "web", "--listen", "127.0.0.1:0", "--plaintext", "--collector", address],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                base = _started(web, "web listening on").split()[3].rstrip("/")
                asyncio.run(run(base, args))
            finally:
                web.send_signal(signal.SIGINT)
                web.wait(timeout=30)
        finally:
            collector.send_signal(signal.SIGTERM)
            collector.wait(timeout=30)
    return 0


async def run(base: str, args: argparse.Namespace) -> None:
    import aiohttp

    window = "?since=2026-01-04T20:00:00Z&until=2026-01-05T09:00:00Z"
    # Warm up (connections, the first render of each page) before anything is timed.
    await measure(base + "/static/style.css", requests=20, concurrency=2, cold=False, etag=None)
    wall, latencies = await measure(
        base + "/static/style.css",
        requests=args.requests,
        concurrency=args.concurrency,
        cold=False,
        etag=None,
    )
    peer = report("static file (peer)", wall, latencies, None)
    for name, path in (
        ("overview", "/"),
        ("country page KZ", "/country/KZ" + window),
        ("chart KZ (SVG)", "/chart/country/KZ.svg" + window),
    ):
        wall, latencies = await measure(
            base + path,
            requests=args.cold_requests,
            concurrency=min(args.concurrency, 4),
            cold=True,
            etag=None,
        )
        report(f"{name}, cold", wall, latencies, peer)
        async with aiohttp.ClientSession() as session, session.get(base + path) as response:
            etag = response.headers["ETag"]  # and the address is now rendered for this round
        wall, latencies = await measure(
            base + path, requests=args.requests, concurrency=args.concurrency, cold=False, etag=None
        )
        report(f"{name}, cached", wall, latencies, peer)
        wall, latencies = await measure(
            base + path, requests=args.requests, concurrency=args.concurrency, cold=False, etag=etag
        )
        report(f"{name}, 304", wall, latencies, peer)


if __name__ == "__main__":
    sys.exit(main())
