"""The probe's /metrics: every series it means, no prometheus_client `*_created` ones."""

from __future__ import annotations

import urllib.request

from prometheus_client import CollectorRegistry

from vantage.probe.daemon.metrics import ProbeMetrics, start_metrics_server
from vantage.probe.daemon.outbox import AddOutcome


def test_metrics_endpoint_serves_no_created_series() -> None:
    metrics = ProbeMetrics(CollectorRegistry())
    metrics.set_version("0.0.0-test")
    metrics.observe_written(
        [("icmp", "ok", ""), ("dns", "failed", "dns_timeout")], AddOutcome(added=2, dropped=0, depth=2)
    )
    metrics.observe_ack(accepted=2, duplicates=0, rejected=0, now_unix_s=1_767_609_060.0)
    metrics.observe_rpc_error("Heartbeat", "UNAVAILABLE")
    server, port = start_metrics_server(metrics.registry, "127.0.0.1:0")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:  # loopback
            text = response.read().decode()
    finally:
        server.shutdown()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert 'vantage_probe_measurements_total{outcome="ok",protocol="icmp"} 1.0' in samples
    assert 'vantage_probe_upload_errors_total{code="UNAVAILABLE",rpc="Heartbeat"} 1.0' in samples
    assert "vantage_probe_uploads_total 1.0" in samples
    assert not [line for line in text.splitlines() if "_created" in line]
    # The registry itself is untouched: other readers still see what prometheus_client made.
    assert metrics.registry.get_sample_value("vantage_probe_uploads_created") is not None
