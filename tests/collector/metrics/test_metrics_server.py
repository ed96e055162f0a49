"""start_metrics_server over loopback, and promtool's verdict on what it serves."""

from __future__ import annotations

import gzip
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from tests.collector.metrics.snapshots import kazakhstan_snapshot
from vantage.collector.metrics.service_metrics import CollectorMetrics, MetricsServer, start_metrics_server

PROMTOOL = shutil.which("promtool")


@pytest.fixture
def served() -> Iterator[tuple[CollectorMetrics, MetricsServer]]:
    registry = CollectorRegistry()
    metrics = CollectorMetrics(registry)
    metrics.observe_batch(accepted=5, duplicates=1, rejected_by_reason={"bad_address": 2}, latency_s=0.003)
    metrics.observe_rpc(method="SubmitResults", code="OK")
    metrics.observe_round(round_number=7, duration_s=1.5, verdict_s=0.25, finished_at_unix=1_767_609_000.0)
    metrics.set_probe_states({"alive": 4, "silent": 1, "revoked": 1})
    metrics.set_storage_bytes(4096)
    metrics.set_verdict_snapshot(kazakhstan_snapshot(down=True))
    server = start_metrics_server(registry, "127.0.0.1", 0)
    try:
        yield metrics, server
    finally:
        server.close()


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_serves_the_text_format_on_a_free_port(served: tuple[CollectorMetrics, MetricsServer]) -> None:
    _, server = served
    assert server.port > 0
    status, headers, body = fetch(server.url)
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert 'vantage_as_status{asn="64500",country="KZ"} 3' in text
    assert "vantage_results_accepted_total 5.0" in text


def test_gzip_response_is_the_same_exposition(served: tuple[CollectorMetrics, MetricsServer]) -> None:
    _, server = served
    _, _, plain = fetch(server.url)
    status, headers, body = fetch(server.url, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"

    def without_process(text: bytes) -> list[bytes]:
        return [line for line in text.splitlines() if b"vantage_process_" not in line]

    # Several gzip members in one stream (cached verdict families + fresh service metrics).
    assert without_process(gzip.decompress(body)) == without_process(plain)


def test_other_paths_are_not_found(served: tuple[CollectorMetrics, MetricsServer]) -> None:
    _, server = served
    status, _, body = fetch(f"http://127.0.0.1:{server.port}/nope")
    assert status == 404 and b"/metrics" in body


def test_close_frees_the_port(served: tuple[CollectorMetrics, MetricsServer]) -> None:
    _, server = served
    server.close()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=2):
        pass


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this kernel")
    registry = CollectorRegistry()
    CollectorMetrics(registry)
    try:
        server = start_metrics_server(registry, "::1", 0)
    except OSError as error:
        pytest.skip(f"cannot bind ::1 here: {error}")
    try:
        status, _, body = fetch(server.url)
        assert status == 200 and b"vantage_results_accepted_total" in body
    finally:
        server.close()


@pytest.mark.prometheus
def test_promtool_accepts_names_and_help(served: tuple[CollectorMetrics, MetricsServer]) -> None:
    if PROMTOOL is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    _, server = served
    _, _, body = fetch(server.url)
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
