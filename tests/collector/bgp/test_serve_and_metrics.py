"""`--bgp-source` through `vantage collector serve`, and the routing signal's metrics."""

from __future__ import annotations

import signal
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tests.collector.conftest import start_collector
from vantage.collector.bgp.feeds import BgpFeeds, FeedFigures
from vantage.collector.bgp.model import AsRouting, FeedStatus, RoutingState
from vantage.collector.bgp.sources import ExabgpSource, MrtSource, RisLiveSource, parse_bgp_source
from vantage.collector.metrics.bgp import BgpMetricsCollector

DATA = Path(__file__).parent / "data"


def test_sources_parse_and_refuse() -> None:
    assert parse_bgp_source("exabgp:unix:/run/x.sock") == ExabgpSource(Path("/run/x.sock"))
    assert parse_bgp_source("ris-live:wss://example.net/v1/ws/") == RisLiveSource("wss://example.net/v1/ws/")
    assert parse_bgp_source("mrt:a,b") == MrtSource((Path("a"), Path("b")))
    for bad in ("exabgp:tcp:1.2.3.4", "ris-live:http://x", "mrt:", "bgp:x"):
        with pytest.raises(ValueError, match="source"):
            parse_bgp_source(bad)
    feeds = BgpFeeds([MrtSource((Path("a"),)), MrtSource((Path("b"),)), ExabgpSource(Path("s"))])
    assert list(feeds.labels.values()) == ["mrt", "mrt-2", "exabgp"]


def test_metrics_families() -> None:
    routing = AsRouting(64501, RoutingState.PARTIAL, 1, 2, 256, 512, 3, "1/2 prefixes visible")
    figures = FeedFigures(
        statuses=(FeedStatus("mrt:/data/rib.mrt", True, True, 1.0),),
        parsed={"mrt": 10},
        rejected={("mrt", "bad_record"): 1},
        visibility={64501: routing},
        peers=(),
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BgpMetricsCollector(lambda: figures, {"mrt:/data/rib.mrt": "mrt"}))
    text = generate_latest(registry).decode()
    for line in (
        'vantage_bgp_feed_up{feed="mrt"} 1.0',
        'vantage_bgp_messages_parsed_total{format="mrt"} 10.0',
        'vantage_bgp_messages_rejected_total{format="mrt",reason="bad_record"} 1.0',
        'vantage_as_routing_state{asn="64501"} 2.0',
        'vantage_as_visible_prefixes{asn="64501"} 1.0',
        'vantage_as_visible_ipv4_addresses{asn="64501"} 256.0',
        'vantage_as_baseline_ipv4_addresses{asn="64501"} 512.0',
    ):
        assert line in text
    assert "/data/rib.mrt" not in text  # never a path or URL as a label


def test_serve_with_an_mrt_source(tmp_path: Path) -> None:
    source = f"mrt:{DATA / 'quagga_rib'},{DATA / 'quagga_bgp'}"
    collector = start_collector(
        tmp_path / "collector", "--round-seconds", "3600", "--bgp-source", source, "--metrics", "127.0.0.1:0"
    )
    try:
        deadline = time.monotonic() + 30
        while not any("collector metrics on" in line for line in collector.lines):
            assert time.monotonic() < deadline, "".join(collector.lines)
            time.sleep(0.05)
        url = next(line for line in collector.lines if "collector metrics on" in line).split()[-1]
        while True:
            text = urllib.request.urlopen(url, timeout=10).read().decode()
            if 'vantage_bgp_feed_table_loaded{feed="mrt"} 1.0' in text:
                break
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
        assert 'vantage_bgp_messages_parsed_total{format="mrt"}' in text
    finally:
        collector.stop(signal.SIGTERM)


def test_serve_refuses_a_bad_source(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="--bgp-source"):
        start_collector(tmp_path / "collector", "--bgp-source", "bgp:nowhere")


def test_the_loop_never_waits_for_the_table() -> None:
    """A line arriving while a visibility computation holds the table is queued, not waited
    for, and applied by the holder when it finishes."""
    feeds = BgpFeeds([])
    line = (DATA / "ris_live_samples.jsonl").read_text(encoding="utf-8").splitlines()[1].encode()
    with feeds._lock:  # what snapshot(at) holds during a whole-table pass
        feeds._line("ris", "ris-live", line)  # returns at once (a blocking acquire would hang here)
        assert feeds._feed.tally.parsed_counts == {}
    feeds.snapshot(1_800_000_000.0)
    assert feeds.figures().parsed == {"ris-live": 1}
