"""Reconnecting after a collector outage: within one heartbeat interval.

The pure parts (the policy bound, gRPC's channel options, the route
fingerprint) are checked directly; then a real probe and a real collector on
loopback: the collector is stopped for an outage and started again, and the
time until the probe's next acknowledged upload is measured. The outage is 20 s
here (VANTAGE_TEST_OUTAGE_S changes it); the 3-minute run that the issue
describes is

    VANTAGE_TEST_OUTAGE_S=180 .venv/bin/python -m pytest -s tests/probe/daemon/test_reconnect.py
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vantage.probe.daemon.backoff import backoff_delay_s
from vantage.probe.daemon.link import Link, channel_backoff_options, routes_fingerprint, watch_network
from vantage.probe.daemon.metrics import ProbeMetrics
from vantage.probe.daemon.runner import reconnect_policy

from .harness import Collector, Probe, Processes, free_port, poll

ROUTE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
)
ROUTE6 = (
    "20010db8000000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n"
)


def test_the_retry_delay_never_exceeds_one_heartbeat_interval() -> None:
    policy = reconnect_policy(retry_max_s=300.0, heartbeat_s=60.0)
    rng = random.Random(7)
    delays = [backoff_delay_s(failures, policy, rng) for failures in range(1, 200)]
    assert max(delays) <= 60.0
    assert min(delays) >= policy.min_delay_s
    # A shorter retry ceiling than the heartbeat still wins.
    assert reconnect_policy(retry_max_s=5.0, heartbeat_s=60.0).max_delay_s == 5.0
    # Heartbeats faster than the default first retry are valid too.
    assert reconnect_policy(retry_max_s=300.0, heartbeat_s=0.5).max_delay_s == 0.5


def test_grpc_channel_backoff_is_bounded_by_the_probe_policy() -> None:
    options = dict(channel_backoff_options(reconnect_policy(retry_max_s=300.0, heartbeat_s=60.0)))
    assert options == {
        "grpc.initial_reconnect_backoff_ms": 1000,
        "grpc.min_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 60_000,
    }


def test_route_fingerprint_sees_route_changes_not_counters() -> None:
    base = routes_fingerprint((ROUTE, ROUTE6))
    busier = ROUTE.replace("0003\t0\t0\t0\t", "0003\t5\t912\t0\t")  # refcnt and use moved
    assert routes_fingerprint((busier, ROUTE6.replace(" 00000001 00000000 ", " 00000003 00000042 "))) == base
    no_default = "".join(line for line in ROUTE.splitlines(keepends=True) if "010200C0" not in line)
    assert routes_fingerprint((no_default, ROUTE6)) != base
    assert routes_fingerprint((ROUTE, "")) != base
    # The order the kernel lists routes in does not matter.
    header, *routes = ROUTE.splitlines(keepends=True)
    assert routes_fingerprint((header + "".join(reversed(routes)), ROUTE6)) == base


def test_a_route_change_clears_the_backoff_and_wakes_waiters() -> None:
    async def scenario() -> None:
        from prometheus_client import CollectorRegistry

        policy = reconnect_policy(retry_max_s=300.0, heartbeat_s=300.0)
        link = Link(
            ("127.0.0.1:9",),
            pool_key="p",
            plaintext=True,
            ca_file=None,
            backoff=policy,
            revoked_backoff_s=3600.0,
            rng=random.Random(1),
            metrics=ProbeMetrics(CollectorRegistry()),
        )
        # Twenty failures: the collector is put aside for up to 300 s.
        for _ in range(20):
            link.failed("127.0.0.1:9", "Heartbeat", RuntimeError("down"))
        stop = asyncio.Event()
        tables = [(ROUTE, ROUTE6)]
        watcher = asyncio.create_task(watch_network(link, stop, poll_s=0.01, read_tables=lambda: tables[-1]))
        waiter = asyncio.create_task(link.acquire_waiting(stop))
        await asyncio.sleep(0.05)
        assert not waiter.done()  # still waiting out the backoff
        tables.append((ROUTE, ""))  # IPv6 went away: the network changed
        address, _stub = await asyncio.wait_for(waiter, timeout=30)
        assert address == "127.0.0.1:9"
        stop.set()
        await watcher
        await link.close()

    asyncio.run(scenario())


def test_a_call_that_gets_through_wakes_the_loops_waiting_out_the_backoff() -> None:
    async def scenario() -> None:
        from prometheus_client import CollectorRegistry

        link = Link(
            ("127.0.0.1:9",),
            pool_key="p",
            plaintext=True,
            ca_file=None,
            backoff=reconnect_policy(retry_max_s=300.0, heartbeat_s=300.0),
            revoked_backoff_s=3600.0,
            rng=random.Random(1),
            metrics=ProbeMetrics(CollectorRegistry()),
        )
        for _ in range(20):  # put aside for up to 300 s
            link.failed("127.0.0.1:9", "SubmitResults", RuntimeError("down"))
        stop = asyncio.Event()
        waiter = asyncio.create_task(link.acquire_waiting(stop))  # the uploader
        await asyncio.sleep(0.05)
        assert not waiter.done()
        link.succeeded("127.0.0.1:9")  # the heartbeat got through: the collector is back
        address, _stub = await asyncio.wait_for(waiter, timeout=30)
        assert address == "127.0.0.1:9"
        await link.close()

    asyncio.run(scenario())


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    try:
        yield started
    finally:
        started.close()


@pytest.mark.slow
def test_probe_reconnects_within_one_heartbeat_after_an_outage(tmp_path: Path, processes: Processes) -> None:
    heartbeat_s = 10.0
    outage_s = float(os.environ.get("VANTAGE_TEST_OUTAGE_S", "20"))
    data_dir = tmp_path / "collector"
    data_dir.mkdir()
    collector = Collector(processes, data_dir, free_port()).start()
    collector.import_targets("target,protocols,country,asn,tags\n127.0.0.1,tcp,KZ,64501,port:9\n")
    probe = Probe(
        processes,
        tmp_path / "probe-state",
        [collector.address],
        collector.token(),
        [
            "--allow-range",
            "127.0.0.1/32",
            "--heartbeat-seconds",
            str(heartbeat_s),
            "--retry-max-seconds",
            "300",
        ],
    ).start()
    assert probe.process is not None
    probe.process.wait_log("probe enrolled as")
    poll(lambda: probe.metric("vantage_probe_uploads_total") >= 1, timeout_s=60, what="a first upload")

    collector.stop()
    time.sleep(outage_s)  # the outage itself (the probe keeps measuring offline)
    poll(lambda: probe.metric("vantage_probe_outbox_depth") > 0, timeout_s=30, what="results held offline")
    uploads_before = probe.metric("vantage_probe_uploads_total")
    collector.start()
    back_at = time.monotonic()
    poll(
        lambda: probe.metric("vantage_probe_uploads_total") > uploads_before,
        timeout_s=heartbeat_s * 3,
        what="the probe's first upload after the collector came back",
        interval_s=0.05,
    )
    reconnect_s = time.monotonic() - back_at
    print(
        f"\nreconnected {reconnect_s:.1f} s after a {outage_s:.0f} s outage (heartbeat {heartbeat_s:.0f} s)"
    )
    # The promise is one heartbeat interval plus the time one upload takes; the cap itself is
    # pinned exactly by test_the_retry_delay_never_exceeds_one_heartbeat_interval. Here the bound
    # is two intervals: the upload's own time is not a constant on a loaded machine (CI saw 12.2 s
    # once, against a fixed 2 s allowance, with the collector still warming its ingest workers),
    # while a daemon that ignored the cap would draw its delays from up to 300 s.
    assert reconnect_s <= 2 * heartbeat_s, f"reconnected only after {reconnect_s:.1f} s"
    assert probe.process.terminate() == 0
