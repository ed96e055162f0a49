"""The probe's own Prometheus metrics (registry passed in; never the global one).

Labels are bounded: protocol, outcome and failure come from closed
vocabularies, gRPC codes from a fixed enum. Never a target address or URL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Info
from prometheus_client.metrics_core import Metric

from vantage.probe.daemon.outbox import AddOutcome


@dataclass
class _OutboxView:
    oldest_written_at_unix_s: float | None = None


@dataclass
class ProbeMetrics:
    registry: CollectorRegistry
    _outbox: _OutboxView = field(default_factory=_OutboxView)

    def __post_init__(self) -> None:
        r = self.registry
        self.measurements = Counter(
            "vantage_probe_measurements", "Results written to the outbox", ["protocol", "outcome"], registry=r
        )
        self.failures = Counter(
            "vantage_probe_failures", "Failed measurements by failure string", ["failure"], registry=r
        )
        self.outbox_depth = Gauge("vantage_probe_outbox_depth", "Results waiting for upload", registry=r)
        self.outbox_oldest_age = Gauge(
            "vantage_probe_outbox_oldest_age_seconds", "Age of the oldest result not yet uploaded", registry=r
        )
        self.outbox_oldest_age.set_function(self._oldest_age_s)
        self.outbox_dropped = Counter(
            "vantage_probe_outbox_dropped", "Oldest results dropped because the outbox was full", registry=r
        )
        self.disk_full_dropped = Counter(
            "vantage_probe_disk_full_dropped",
            "Results measured but not stored: the disk holding the outbox was full",
            registry=r,
        )
        self.uploads = Counter("vantage_probe_uploads", "Batches acknowledged by a collector", registry=r)
        self.uploaded_results = Counter(
            "vantage_probe_uploaded_results",
            "Results acknowledged, by how the collector took them",
            ["result"],
            registry=r,
        )
        self.upload_errors = Counter(
            "vantage_probe_upload_errors",
            "Failed collector RPCs by gRPC code",
            ["rpc", "code"],
            registry=r,
        )
        self.last_upload = Gauge(
            "vantage_probe_last_successful_upload_timestamp_seconds",
            "Wall time of the last acknowledged batch",
            registry=r,
        )
        self.work_plan_tasks = Gauge("vantage_probe_work_plan_tasks", "Tasks in the work plan", registry=r)
        self.round = Gauge("vantage_probe_round", "Round number of the last round run", registry=r)
        self.offline_rounds = Counter(
            "vantage_probe_offline_rounds",
            "Rounds run from a stale plan, offline",
            registry=r,
        )
        self.rate_saturation = Gauge(
            "vantage_probe_rate_cap_saturation",
            "Packets per second the plan needs divided by the local rate cap (>1: the round overruns)",
            registry=r,
        )
        self.refused = Counter(
            "vantage_probe_refused_tasks", "Tasks refused by the local safety policy", ["reason"], registry=r
        )
        self.clock_offset = Gauge(
            "vantage_probe_clock_offset_seconds",
            "Collector clock minus probe clock",
            registry=r,
        )
        self.build_info = Info("vantage_probe_build", "Probe software version", registry=r)

    def set_version(self, version: str) -> None:
        self.build_info.info({"version": version})

    def _oldest_age_s(self) -> float:
        oldest = self._outbox.oldest_written_at_unix_s
        return 0.0 if oldest is None else max(0.0, time.time() - oldest)

    def observe_outbox(self, depth: int, oldest_written_at_unix_s: float | None) -> None:
        self.outbox_depth.set(depth)
        self._outbox.oldest_written_at_unix_s = oldest_written_at_unix_s

    def observe_written(self, labels: list[tuple[str, str, str]], outcome: AddOutcome) -> None:
        for protocol, result, failure in labels:
            self.measurements.labels(protocol=protocol, outcome=result).inc()
            if failure:
                self.failures.labels(failure=failure).inc()
        if outcome.dropped:
            self.outbox_dropped.inc(outcome.dropped)

    def observe_ack(self, accepted: int, duplicates: int, rejected: int, now_unix_s: float) -> None:
        self.uploads.inc()
        for name, count in (("accepted", accepted), ("duplicate", duplicates), ("rejected", rejected)):
            if count:
                self.uploaded_results.labels(result=name).inc(count)
        self.last_upload.set(now_unix_s)

    def observe_rpc_error(self, rpc: str, code: str) -> None:
        self.upload_errors.labels(rpc=rpc, code=code).inc()


class WithoutCreatedSeries:
    """A registry view without prometheus_client's `*_created` samples.

    Every Counter carries a `_created` timestamp series that no rule or panel reads
    and that doubled the probe's exposition. prometheus_client can only turn it off
    process-wide (disable_created_metrics); this view drops it from what the
    probe's /metrics serves, leaving the registry (and other registries) as they are.
    """

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        for family in self._source.collect():
            family.samples = [sample for sample in family.samples if not sample.name.endswith("_created")]
            yield family


def exposed_registry(registry: CollectorRegistry) -> CollectorRegistry:
    """The registry /metrics serves: `registry` without `*_created` series."""
    exposed = CollectorRegistry(auto_describe=False)
    exposed.register(WithoutCreatedSeries(registry))
    return exposed


def start_metrics_server(registry: CollectorRegistry, listen: str) -> tuple[Any, int]:
    """Serve /metrics on HOST:PORT (port 0: any free port). Returns (server, port)."""
    from prometheus_client import start_http_server

    host, _, port = listen.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host.strip("[]"), registry=exposed_registry(registry))
    return server, int(server.server_port)
