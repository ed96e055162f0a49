"""The collector's Prometheus metrics: the service itself and the latest verdict snapshot.

Everything is exposed by custom collectors registered in the registry passed
in (never the global one): plain counters and histograms kept under one lock,
yielded as metric families at scrape time. Using families instead of
prometheus_client's Counter/Histogram objects keeps `_created` series out
(they double the series of every counter and only the global
`disable_created_metrics()` would turn them off).

The per-AS and per-country series come from `VerdictCollector`, which renders
each `VerdictSnapshot` once, on a short-lived thread as soon as it is set (or
in the first scrape, if that comes first), and serves that text until the next
snapshot (see metrics_text for why).

    metrics = CollectorMetrics(registry)
    metrics.observe_batch(accepted=98, duplicates=1, rejected_by_reason={"bad_address": 1}, latency_s=0.004)
    metrics.set_verdict_snapshot(VerdictSnapshot(as_verdicts=..., country_verdicts=..., as_names=...))
    server = start_metrics_server(registry, "127.0.0.1", 9464)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector

from vantage.collector.metrics.histogram import BucketCounts
from vantage.collector.metrics.server import MetricsServer, render_registry, start_metrics_server
from vantage.collector.metrics.text import RenderedFamily
from vantage.collector.metrics.verdicts import STATUS_HELP, VerdictSnapshot, render_verdict_families

__all__ = [
    "DEFAULT_INGEST_BUCKETS_S",
    "DEFAULT_ROUND_BUCKETS_S",
    "PROBE_STATES",
    "STATUS_HELP",
    "CampaignFigures",
    "CollectorMetrics",
    "CountryCoverageFigures",
    "MetricsServer",
    "VerdictCollector",
    "VerdictSnapshot",
    "render_registry",
    "start_metrics_server",
]

# Upper bounds in seconds. Ingest: one batch is a few hundred results written in one
# transaction (milliseconds on SQLite, tens on a remote PostgreSQL); the top buckets
# catch lock contention. Rounds: closing one takes well under the default 5-minute
# round (collector/service/config.py); a whole-Internet verdict computation, seconds.
DEFAULT_INGEST_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DEFAULT_ROUND_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
# States always exported (zero when absent) so `vantage_probes{state="revoked"}` never vanishes.
PROBE_STATES = ("alive", "silent", "revoked")


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    """A discovery campaign's progress (labels: the campaign id, a handful per collector)."""

    campaign_id: str
    blocks_total: int
    blocks_done: int
    responders: int


@dataclass(frozen=True, slots=True)
class CountryCoverageFigures:
    """What discovery can analyse of one country (label: the country code)."""

    country: str
    addresses: int
    analysable_addresses: int
    ases: int
    analysable_ases: int


class CollectorMetrics:
    """The collector service's metrics, registered in `registry` (thread-safe)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        clock: Callable[[], float] = time.perf_counter,
        prerender_snapshots: bool = True,
    ) -> None:
        self._lock = threading.Lock()
        self._accepted = 0
        self._duplicates = 0
        self._batches = 0
        self._rejected: dict[str, int] = {}
        self._ingest = BucketCounts(DEFAULT_INGEST_BUCKETS_S)
        self._rpcs: dict[tuple[str, str], int] = {}
        self._auth: dict[tuple[str, bool], int] = {}
        self._rounds = 0
        self._last_round: tuple[int, float] | None = None
        self._round_duration = BucketCounts(DEFAULT_ROUND_BUCKETS_S)
        self._verdict_duration = BucketCounts(DEFAULT_ROUND_BUCKETS_S)
        self._probes: dict[str, int] = dict.fromkeys(PROBE_STATES, 0)
        self._storage_bytes: int | None = None
        self._campaigns: tuple[CampaignFigures, ...] = ()
        self._coverage: tuple[CountryCoverageFigures, ...] = ()
        self._revisions = 0
        self._late: dict[str, int] = {}
        self._late_refused: dict[str, int] = {}
        self.verdicts = VerdictCollector(clock=clock, prerender=prerender_snapshots)
        registry.register(_ServiceCollector(self))
        registry.register(self.verdicts)
        # CPU, memory and open files of the collector process, under our prefix.
        ProcessCollector(namespace="vantage", registry=registry)

    def observe_batch(
        self, *, accepted: int, duplicates: int, rejected_by_reason: Mapping[str, int], latency_s: float
    ) -> None:
        """One SubmitResults batch: results stored, duplicates skipped, rejections by reason, time taken."""
        if accepted < 0 or duplicates < 0 or any(n < 0 for n in rejected_by_reason.values()):
            raise ValueError("result counts cannot be negative")
        with self._lock:
            self._batches += 1
            self._accepted += accepted
            self._duplicates += duplicates
            for reason, count in rejected_by_reason.items():
                self._rejected[reason] = self._rejected.get(reason, 0) + count
            self._ingest.observe(latency_s)

    def observe_auth(self, *, kind: str, throttled: bool) -> None:
        """One failed authentication (kind: probe, operator, enrollment), or one refused unchecked
        because its source address failed too often (collector/service/auth_limit.py)."""
        with self._lock:
            self._auth[(kind, throttled)] = self._auth.get((kind, throttled), 0) + 1

    def observe_rpc(self, *, method: str, code: str) -> None:
        """One finished gRPC call (method name without the service, status code name such as "OK")."""
        with self._lock:
            self._rpcs[(method, code)] = self._rpcs.get((method, code), 0) + 1

    def observe_round(
        self, *, round_number: int, duration_s: float, verdict_s: float, finished_at_unix: float
    ) -> None:
        """A computed round: its whole duration, the verdict engine's share of it, when it finished."""
        with self._lock:
            self._rounds += 1
            self._last_round = (round_number, finished_at_unix)
            self._round_duration.observe(duration_s)
            self._verdict_duration.observe(verdict_s)

    def observe_revisions(
        self, *, revised_rounds: int, late_by_country: Mapping[str, int], refused_by_reason: Mapping[str, int]
    ) -> None:
        """Rounds recomputed as new revisions, late results found per probe country, and late
        results that revise nothing, by reason (collector/verdict/revisions.py)."""
        with self._lock:
            self._revisions += revised_rounds
            for country, count in late_by_country.items():
                self._late[country] = self._late.get(country, 0) + count
            for reason, count in refused_by_reason.items():
                self._late_refused[reason] = self._late_refused.get(reason, 0) + count

    def set_probe_states(self, counts: Mapping[str, int]) -> None:
        """Probes by state ("alive", "silent", "revoked"); states left out read as zero."""
        with self._lock:
            self._probes = dict.fromkeys(PROBE_STATES, 0) | dict(counts)

    def set_storage_bytes(self, size: int) -> None:
        with self._lock:
            self._storage_bytes = size

    def set_discovery(
        self, campaigns: Sequence[CampaignFigures], coverage: Sequence[CountryCoverageFigures]
    ) -> None:
        """The active campaigns' progress and the coverage per country (replaces the previous)."""
        with self._lock:
            self._campaigns = tuple(campaigns)
            self._coverage = tuple(coverage)

    def set_verdict_snapshot(self, snapshot: VerdictSnapshot) -> None:
        """Publish the latest round's verdicts; returns at once (the render runs on its own thread)."""
        self.verdicts.set_snapshot(snapshot)

    def _families(self) -> list[Metric]:
        # Built as a list under the lock: a generator holding the lock across
        # yields would keep it if a consumer stopped half-way.
        with self._lock:
            return list(self._unlocked_families())

    def _unlocked_families(self) -> Iterable[Metric]:
        # The caller holds self._lock.
        yield _counter("vantage_results_accepted", "Measurement results accepted and stored.", self._accepted)
        yield _counter(
            "vantage_results_duplicate",
            "Measurement results received again and skipped (a probe's retry of a stored result).",
            self._duplicates,
        )
        rejected = CounterMetricFamily(
            "vantage_results_rejected", "Measurement results rejected, by reason.", labels=["reason"]
        )
        for reason, count in sorted(self._rejected.items()):
            rejected.add_metric([reason], count)
        yield rejected
        yield _counter(
            "vantage_result_batches", "Result batches (SubmitResults calls) ingested.", self._batches
        )
        yield self._ingest.family(
            "vantage_ingest_latency_seconds", "Time to validate and store one result batch."
        )
        for throttled, name, documentation in (
            (False, "vantage_auth_failures", "Failed authentications, by kind of credential."),
            (
                True,
                "vantage_auth_throttled",
                "Authentications refused unchecked: the source failed too often.",
            ),
        ):
            family = CounterMetricFamily(name, documentation, labels=["kind"])
            for kind in ("enrollment", "operator", "probe"):
                family.add_metric([kind], self._auth.get((kind, throttled), 0))
            yield family
        rpcs = CounterMetricFamily(
            "vantage_grpc_requests",
            "Finished gRPC calls by method and status code.",
            labels=["method", "code"],
        )
        for (method, code), count in sorted(self._rpcs.items()):
            rpcs.add_metric([method, code], count)
        yield rpcs
        probes = GaugeMetricFamily(
            "vantage_probes", "Enrolled probes by state (alive, silent, revoked).", labels=["state"]
        )
        for state, count in sorted(self._probes.items()):
            probes.add_metric([state], count)
        yield probes
        yield _counter("vantage_rounds", "Rounds whose verdicts were computed.", self._rounds)
        yield self._round_duration.family(
            "vantage_round_duration_seconds", "Time to close a round: load observations, compute, store."
        )
        yield self._verdict_duration.family(
            "vantage_verdict_duration_seconds", "Time the verdict engine took for one round."
        )
        if self._last_round is not None:
            number, finished = self._last_round
            yield GaugeMetricFamily("vantage_last_round", "Number of the last computed round.", value=number)
            yield GaugeMetricFamily(
                "vantage_last_round_finished_timestamp_seconds",
                "Unix time at which the last round's verdicts were computed.",
                value=finished,
            )
        if self._storage_bytes is not None:
            yield GaugeMetricFamily(
                "vantage_storage_bytes", "Size of the collector's stored data.", value=self._storage_bytes
            )
        yield _counter(
            "vantage_round_revisions",
            "Computed rounds recomputed as a new revision (late results, or an earlier round's).",
            self._revisions,
        )
        late = CounterMetricFamily(
            "vantage_late_results",
            "Results that arrived after their round was computed, by the probe's country.",
            labels=["country"],
        )
        for country, count in sorted(self._late.items()):
            late.add_metric([country or "unknown"], count)
        yield late
        refused = CounterMetricFamily(
            "vantage_late_results_unrevised",
            "Late results stored but revising nothing, by reason.",
            labels=["reason"],
        )
        for reason, count in sorted(self._late_refused.items()):
            refused.add_metric([reason], count)
        yield refused
        yield from _discovery_families(self._campaigns, self._coverage)


class VerdictCollector:
    """Serves the latest VerdictSnapshot, rendered once per snapshot (a prometheus_client collector).

    With `prerender` (the default) a new snapshot is rendered on a short-lived
    thread right away, so scrapes find it ready; a scrape that comes first waits
    for that render (it never serves an older snapshot once a newer one is set).
    """

    def __init__(self, *, clock: Callable[[], float] = time.perf_counter, prerender: bool = True) -> None:
        self._clock = clock
        self._prerender = prerender
        self._lock = threading.Lock()
        self._snapshot = VerdictSnapshot()
        self._rendered_for: VerdictSnapshot | None = None
        self._families: list[RenderedFamily] = []
        self._render_s = 0.0

    def set_snapshot(self, snapshot: VerdictSnapshot) -> None:
        self._snapshot = snapshot  # one reference assignment: atomic, no lock needed
        if self._prerender:
            threading.Thread(target=self.rendered, name="vantage-metrics-render", daemon=True).start()

    def rendered(self) -> tuple[VerdictSnapshot, list[RenderedFamily], float]:
        """The latest snapshot, its families and the seconds its render took (renders if needed)."""
        with self._lock:
            snapshot = self._snapshot
            if snapshot is not self._rendered_for:
                started = self._clock()
                self._families = render_verdict_families(snapshot)
                self._render_s = self._clock() - started
                self._rendered_for = snapshot
            return snapshot, self._families, self._render_s

    def describe(self) -> list[Metric]:
        # Declared so a registry with auto_describe never renders at registration.
        return []

    def collect(self) -> Iterable[Metric]:
        snapshot, families, render_s = self.rendered()
        yield GaugeMetricFamily(
            "vantage_verdict_snapshot_ases",
            "AS verdicts in the snapshot served.",
            value=len(snapshot.as_verdicts),
        )
        yield GaugeMetricFamily(
            "vantage_verdict_snapshot_countries",
            "Country verdicts in the snapshot served.",
            value=len(snapshot.country_verdicts),
        )
        yield GaugeMetricFamily(
            "vantage_metrics_render_seconds",
            "Time the current verdict snapshot took to render for scraping (paid once per snapshot).",
            value=render_s,
        )
        yield from families


class _ServiceCollector:
    def __init__(self, metrics: CollectorMetrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        return self._metrics._families()


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    # No `created` argument: no `_created` series.
    return CounterMetricFamily(name, documentation, value=value)


def _discovery_families(
    campaigns: Sequence[CampaignFigures], coverage: Sequence[CountryCoverageFigures]
) -> Iterable[Metric]:
    """Discovery progress per campaign and coverage per country (docs/discovery.md)."""
    for name, documentation, value_of in (
        ("vantage_discovery_blocks", "IPv4 /24 blocks of an active discovery campaign.", "blocks_total"),
        ("vantage_discovery_blocks_done", "Blocks whose first census is complete.", "blocks_done"),
        ("vantage_discovery_responders", "Addresses that answered in the last 16 censuses.", "responders"),
    ):
        family = GaugeMetricFamily(name, documentation, labels=["campaign"])
        for campaign in campaigns:
            family.add_metric([campaign.campaign_id], getattr(campaign, value_of))
        yield family
    for name, documentation, value_of in (
        ("vantage_coverage_addresses", "IPv4 addresses of a country in discovery campaigns.", "addresses"),
        (
            "vantage_coverage_analysable_addresses",
            "Of those, addresses in ASes that are analysable (enough responsive blocks and vantage points).",
            "analysable_addresses",
        ),
        ("vantage_coverage_ases", "ASes of a country in discovery campaigns.", "ases"),
        ("vantage_coverage_analysable_ases", "Of those, ASes that are analysable.", "analysable_ases"),
    ):
        family = GaugeMetricFamily(name, documentation, labels=["country"])
        for country in coverage:
            family.add_metric([country.country], getattr(country, value_of))
        yield family
    share = GaugeMetricFamily(
        "vantage_coverage_analysable_share",
        "Share (0..1) of a country's campaign address space that is analysable.",
        labels=["country"],
    )
    for country in coverage:
        share.add_metric(
            [country.country], country.analysable_addresses / country.addresses if country.addresses else 0.0
        )
    yield share
