"""A real Prometheus scraping start_metrics_server: series arrive, and an AS going down fires an alert."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.collector.metrics.prometheus_harness import running_prometheus
from tests.collector.metrics.snapshots import kazakhstan_snapshot
from vantage.collector.metrics.service_metrics import CollectorMetrics, MetricsServer, start_metrics_server

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]


@pytest.fixture
def collector_metrics() -> Iterator[tuple[CollectorMetrics, MetricsServer]]:
    registry = CollectorRegistry()
    metrics = CollectorMetrics(registry)
    metrics.observe_batch(accepted=40, duplicates=0, rejected_by_reason={"bad_address": 1}, latency_s=0.01)
    metrics.observe_rpc(method="SubmitResults", code="OK")
    metrics.set_probe_states({"alive": 5})
    metrics.set_verdict_snapshot(kazakhstan_snapshot(down=False))
    server = start_metrics_server(registry, "127.0.0.1", 0)
    try:
        yield metrics, server
    finally:
        server.close()


def test_prometheus_scrapes_verdicts_and_alerts_when_an_as_goes_down(
    tmp_path: Path, collector_metrics: tuple[CollectorMetrics, MetricsServer]
) -> None:
    metrics, server = collector_metrics
    with running_prometheus(tmp_path, {"vantage-collector": f"127.0.0.1:{server.port}"}) as prometheus:
        up = prometheus.wait_for(
            "the AS status series", lambda: prometheus.query('vantage_as_status{asn="64500",country="KZ"}')
        )
        assert up[0]["value"][1] == "1"
        assert up[0]["metric"]["job"] == "vantage-collector"
        failures = prometheus.query('vantage_as_failures{asn="64500",failure="connection_reset"}')
        assert [f["metric"]["protocol"] for f in failures] == ["http"]
        assert prometheus.query('vantage_country_ases{country="KZ",status="filtered"}')[0]["value"][1] == "1"
        assert prometheus.query("vantage_results_accepted_total")[0]["value"][1] == "40"
        assert prometheus.query('up{job="vantage-collector"}')[0]["value"][1] == "1"
        # AS 64501 is FILTERED in this snapshot: that alert fires, AS-down does not.
        prometheus.wait_for("the filtering alert", lambda: prometheus.firing("VantageFilteringDetected"))
        assert prometheus.firing("VantageAsDown") == []

        metrics.set_verdict_snapshot(kazakhstan_snapshot(down=True))
        firing = prometheus.wait_for("VantageAsDown to fire", lambda: prometheus.firing("VantageAsDown"))
        assert [(a["asn"], a["country"], a["severity"]) for a in firing] == [("64500", "KZ", "critical")]
        country = prometheus.wait_for(
            "VantageCountryDown to fire", lambda: prometheus.firing("VantageCountryDown")
        )
        assert [a["country"] for a in country] == ["KZ"]
