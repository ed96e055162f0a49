"""Render a whole-Internet verdict snapshot for a Prometheus scrape, side by side with the naive way.

    /work/venv/bin/python bench/metrics_render.py [--ases 75000] [--countries 240] [--seed 1]

Ours: CollectorMetrics' VerdictCollector exposed through render_registry (what
start_metrics_server sends). "render" is the one-time formatting of a new
snapshot (in the collector it runs on a thread right after the round, not in a
scrape); "scrape" is every later scrape of the same round (cached bytes);
"gzip" the same with Accept-Encoding: gzip (compressed once, then cached).
Peer: prometheus_client Gauge objects with labels, one child set per AS and
family (what per-ingest instrumentation builds), rendered by
prometheus_client.generate_latest at every scrape. Both expose the same
families and series; the bench checks the series counts agree. CPU seconds are
printed beside wall seconds because the machine may be shared.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from vantage.collector.metrics.service_metrics import CollectorMetrics, VerdictSnapshot, render_registry
from vantage.collector.verdict.model import (
    AsVerdict,
    CountryVerdict,
    Evidence,
    FailureCount,
    Protocol,
    ProtocolStat,
    Status,
)
from vantage.failures import FAILURE_KINDS

# About the number of ASes announced on the Internet (CIDR report, 2025: ~75k).
DEFAULT_ASES = 75_000
# ISO 3166 codes in use.
DEFAULT_COUNTRIES = 240
T = TypeVar("T")
PROTOCOL_LABEL = {p: p.name.lower() for p in Protocol}


def synthetic_snapshot(ases: int, countries: int, seed: int) -> VerdictSnapshot:
    """Realistic shape: 1-4 protocols per AS, ICMP (loss, RTT) for 70 %, 0-3 failure kinds, mostly up."""
    rng = random.Random(seed)
    codes = [chr(65 + i // 26) + chr(65 + i % 26) for i in range(countries)]
    failures = sorted(FAILURE_KINDS)
    start = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
    verdicts = []
    for index in range(ases):
        asn = 1000 + index
        protocols = rng.sample(list(Protocol)[1:], rng.randint(1, 4))
        icmp = rng.random() < 0.7
        if icmp and Protocol.ICMP not in protocols:
            protocols.append(Protocol.ICMP)
        protocols.sort()  # the engine lists evidence sorted
        stats = []
        for protocol in protocols:
            attempts = rng.randint(3, 30)
            stats.append(ProtocolStat(protocol, attempts, rng.randint(0, attempts)))
        failing = {
            (rng.choice(failures), rng.choice(protocols)) for _ in range(rng.choice((0, 0, 1, 1, 2, 3)))
        }
        fails = tuple(FailureCount(kind, protocol, rng.randint(1, 10)) for kind, protocol in sorted(failing))
        status = rng.choices(list(Status)[1:], weights=(90, 4, 2, 2, 2))[0]
        evidence = Evidence(
            vantage_points=rng.randint(1, 6),
            vantage_asns=(),
            targets=rng.randint(1, 20),
            protocols=tuple(stats),
            failures=fails,
            loss_ratio=rng.random() * 0.1 if icmp else None,
            baseline_loss_ratio=rng.random() * 0.05 if icmp else None,
            rtt_ms=rng.uniform(5, 400) if icmp else None,
            baseline_rtt_ms=rng.uniform(5, 400) if icmp else None,
            suspect_probes=(),
            filtered_targets=(),
            reachability_status=status,
            interference_status=Status.UP,
            inside_vantage_points=rng.randint(0, 3),
            summary="",
        )
        verdicts.append(
            AsVerdict(
                asn=asn,
                country=rng.choice(codes),
                status=status,
                confidence=rng.random(),
                belief=rng.random(),
                reachability_ratio=sum(s.successes for s in stats) / sum(s.attempts for s in stats),
                since=start - timedelta(minutes=rng.randint(0, 10_000)),
                evidence=evidence,
            )
        )
    country_verdicts = [
        CountryVerdict(
            code, Status.UP, rng.random(), rng.random(), rng.randint(1, 900), (), rng.random(), start, ""
        )
        for code in codes
    ]
    names = {v.asn: f"Example Network {v.asn}" for v in verdicts}
    return VerdictSnapshot(
        as_verdicts=tuple(verdicts), country_verdicts=tuple(country_verdicts), as_names=names
    )


def naive_registry(snapshot: VerdictSnapshot) -> CollectorRegistry:
    """The same series as labelled prometheus_client Gauges, set one child at a time."""
    registry = CollectorRegistry()

    def gauge(name: str, *labels: str) -> Gauge:
        return Gauge(name, name, ["asn", "country", *labels], registry=registry)

    info = Gauge("vantage_as_info", "info", ["asn", "country", "name"], registry=registry)
    simple = {
        name: gauge(name)
        for name in (
            "vantage_as_status",
            "vantage_as_status_since_timestamp_seconds",
            "vantage_as_confidence",
            "vantage_as_belief",
            "vantage_as_reachability_ratio",
            "vantage_as_packet_loss_ratio",
            "vantage_as_baseline_packet_loss_ratio",
            "vantage_as_rtt_seconds",
            "vantage_as_baseline_rtt_seconds",
            "vantage_as_vantage_points",
            "vantage_as_inside_vantage_points",
        )
    }
    protocol_ratio = gauge("vantage_as_protocol_reachability_ratio", "protocol")
    failures = gauge("vantage_as_failures", "failure", "protocol")
    for v in snapshot.as_verdicts:
        asn, cc, ev = str(v.asn), v.country, v.evidence
        info.labels(asn, cc, snapshot.as_names[v.asn]).set(1)
        simple["vantage_as_status"].labels(asn, cc).set(int(v.status))
        simple["vantage_as_status_since_timestamp_seconds"].labels(asn, cc).set(v.since.timestamp())
        simple["vantage_as_confidence"].labels(asn, cc).set(v.confidence)
        simple["vantage_as_belief"].labels(asn, cc).set(v.belief)
        simple["vantage_as_reachability_ratio"].labels(asn, cc).set(v.reachability_ratio)
        for stat in ev.protocols:
            protocol_ratio.labels(asn, cc, PROTOCOL_LABEL[stat.protocol]).set(stat.success_ratio)
        for name, value in (
            ("vantage_as_packet_loss_ratio", ev.loss_ratio),
            ("vantage_as_baseline_packet_loss_ratio", ev.baseline_loss_ratio),
            ("vantage_as_rtt_seconds", None if ev.rtt_ms is None else ev.rtt_ms / 1000),
            (
                "vantage_as_baseline_rtt_seconds",
                None if ev.baseline_rtt_ms is None else ev.baseline_rtt_ms / 1000,
            ),
        ):
            if value is not None:
                simple[name].labels(asn, cc).set(value)
        simple["vantage_as_vantage_points"].labels(asn, cc).set(ev.vantage_points)
        simple["vantage_as_inside_vantage_points"].labels(asn, cc).set(ev.inside_vantage_points)
        for failure in ev.failures:
            failures.labels(asn, cc, failure.failure, PROTOCOL_LABEL[failure.protocol]).set(failure.count)
    return registry


def series_count(text: bytes) -> int:
    return sum(1 for line in text.split(b"\n") if line.startswith(b"vantage_as_"))


def timed(action: Callable[[], T]) -> tuple[float, float, T]:
    """Wall-clock and CPU seconds of one call (CPU time stays meaningful on a shared, busy machine)."""
    gc.collect()
    started, started_cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - started, time.process_time() - started_cpu, result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--ases", type=int, default=DEFAULT_ASES, help="ASes in the snapshot (default %(default)s)"
    )
    parser.add_argument(
        "--countries", type=int, default=DEFAULT_COUNTRIES, help="countries (default %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed of the synthetic snapshot (default 1)"
    )
    args = parser.parse_args()

    snapshot = synthetic_snapshot(args.ases, args.countries, args.seed)
    registry = CollectorRegistry()
    metrics = CollectorMetrics(registry, prerender_snapshots=False)  # render inside the timed scrape
    metrics.set_verdict_snapshot(snapshot)
    cold_s, cold_cpu, chunks = timed(lambda: render_registry(registry))
    ours = b"".join(chunks)
    warm_s, warm_cpu, _ = timed(lambda: render_registry(registry))
    gzip_s, gzip_cpu, gz = timed(lambda: render_registry(registry, gzip=True))
    gzip_warm_s, gzip_warm_cpu, _ = timed(lambda: render_registry(registry, gzip=True))

    build_s, build_cpu, peer_registry = timed(lambda: naive_registry(snapshot))
    peer_s, peer_cpu, peer = timed(lambda: generate_latest(peer_registry))

    ours_series, peer_series = series_count(ours), series_count(peer)
    print(f"snapshot: {args.ases} ASes, {args.countries} countries")
    print(f"per-AS series: ours {ours_series}, peer {peer_series}")
    print(f"scrape size: {len(ours) / 1e6:.1f} MB text, {sum(len(c) for c in gz) / 1e6:.1f} MB gzip")
    print("                                                    wall s    CPU s")
    rows = (
        ("ours  render (once per snapshot, off the scrape path)", cold_s, cold_cpu),
        ("ours  scrape (every scrape of that snapshot)", warm_s, warm_cpu),
        ("ours  first gzip scrape (compresses once)", gzip_s, gzip_cpu),
        ("ours  later gzip scrapes", gzip_warm_s, gzip_warm_cpu),
        ("peer  Gauge.labels().set() for every series", build_s, build_cpu),
        ("peer  generate_latest (every scrape)", peer_s, peer_cpu),
    )
    for label, wall, cpu in rows:
        print(f"{label:52s}{wall:8.3f} {cpu:8.3f}")
    print(f"ratio peer scrape / ours render (CPU): {peer_cpu / cold_cpu:8.1f}x")
    print(f"ratio peer scrape / ours scrape (CPU): {peer_cpu / max(warm_cpu, 1e-6):8.0f}x")
    if ours_series != peer_series:
        print("MISMATCH: the two expositions do not carry the same series", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
