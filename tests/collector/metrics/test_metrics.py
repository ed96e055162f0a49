"""CollectorMetrics through a registry passed in: service counters, verdict series, exposition."""

from __future__ import annotations

import dataclasses
import math
import time

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.collector.metrics.snapshots import as_verdict, evidence, kazakhstan_snapshot
from vantage.collector.metrics.service_metrics import CollectorMetrics, VerdictSnapshot, render_registry
from vantage.collector.verdict.model import FailureCount, Protocol, ProtocolStat, Status

ALLOWED_VERDICT_LABELS = {"asn", "country", "protocol", "status", "failure", "name", "mechanism"}


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> CollectorMetrics:
    return CollectorMetrics(registry)


def scrape(registry: CollectorRegistry) -> str:
    return b"".join(render_registry(registry)).decode()


def test_batches_count_accepted_duplicates_and_rejections_by_reason(
    registry: CollectorRegistry, metrics: CollectorMetrics
) -> None:
    metrics.observe_batch(accepted=98, duplicates=1, rejected_by_reason={"bad_address": 1}, latency_s=0.004)
    metrics.observe_batch(
        accepted=2,
        duplicates=0,
        rejected_by_reason={"bad_address": 2, "unknown_failure_kind": 1},
        latency_s=0.5,
    )
    assert registry.get_sample_value("vantage_results_accepted_total") == 100
    assert registry.get_sample_value("vantage_results_duplicate_total") == 1
    assert registry.get_sample_value("vantage_result_batches_total") == 2
    assert registry.get_sample_value("vantage_results_rejected_total", {"reason": "bad_address"}) == 3
    assert (
        registry.get_sample_value("vantage_results_rejected_total", {"reason": "unknown_failure_kind"}) == 1
    )
    assert registry.get_sample_value("vantage_ingest_latency_seconds_count") == 2
    assert registry.get_sample_value("vantage_ingest_latency_seconds_sum") == pytest.approx(0.504)
    # A value equal to a bound falls into that bucket (le = less or equal).
    assert registry.get_sample_value("vantage_ingest_latency_seconds_bucket", {"le": "0.005"}) == 1
    assert registry.get_sample_value("vantage_ingest_latency_seconds_bucket", {"le": "0.5"}) == 2
    assert registry.get_sample_value("vantage_ingest_latency_seconds_bucket", {"le": "+Inf"}) == 2


def test_negative_counts_are_a_bug(metrics: CollectorMetrics) -> None:
    with pytest.raises(ValueError, match="negative"):
        metrics.observe_batch(accepted=-1, duplicates=0, rejected_by_reason={}, latency_s=0.1)


def test_rpcs_rounds_probes_and_storage(registry: CollectorRegistry, metrics: CollectorMetrics) -> None:
    metrics.observe_rpc(method="SubmitResults", code="OK")
    metrics.observe_rpc(method="SubmitResults", code="OK")
    metrics.observe_rpc(method="Enroll", code="UNAUTHENTICATED")
    assert registry.get_sample_value("vantage_last_round") is None  # no round yet: no fake zero
    metrics.observe_round(round_number=41, duration_s=2.0, verdict_s=0.25, finished_at_unix=1_767_609_060.0)
    metrics.observe_round(round_number=42, duration_s=3.0, verdict_s=0.5, finished_at_unix=1_767_609_120.0)
    metrics.set_probe_states({"alive": 3, "silent": 1})
    metrics.set_storage_bytes(123_456_789)

    value = registry.get_sample_value
    assert value("vantage_grpc_requests_total", {"method": "SubmitResults", "code": "OK"}) == 2
    assert value("vantage_grpc_requests_total", {"method": "Enroll", "code": "UNAUTHENTICATED"}) == 1
    assert value("vantage_rounds_total") == 2
    assert value("vantage_last_round") == 42
    assert value("vantage_last_round_finished_timestamp_seconds") == 1_767_609_120.0
    assert value("vantage_round_duration_seconds_sum") == 5.0
    assert value("vantage_verdict_duration_seconds_count") == 2
    assert value("vantage_probes", {"state": "alive"}) == 3
    assert value("vantage_probes", {"state": "silent"}) == 1
    assert value("vantage_probes", {"state": "revoked"}) == 0  # always present
    assert value("vantage_storage_bytes") == 123_456_789


def test_no_created_series_and_every_name_prefixed(
    registry: CollectorRegistry, metrics: CollectorMetrics
) -> None:
    metrics.observe_batch(accepted=1, duplicates=0, rejected_by_reason={"bad_address": 1}, latency_s=0.01)
    metrics.observe_rpc(method="SubmitResults", code="OK")
    metrics.set_verdict_snapshot(kazakhstan_snapshot())
    text = scrape(registry)
    assert "_created" not in text
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert names and all(name.startswith("vantage_") for name in names)


def test_library_never_touches_the_global_registry() -> None:
    before = set(REGISTRY._names_to_collectors)
    CollectorMetrics(CollectorRegistry()).set_verdict_snapshot(kazakhstan_snapshot())
    assert set(REGISTRY._names_to_collectors) == before


def test_as_and_country_series_from_the_snapshot(
    registry: CollectorRegistry, metrics: CollectorMetrics
) -> None:
    metrics.set_verdict_snapshot(kazakhstan_snapshot(down=True))
    value = registry.get_sample_value
    kz = {"asn": "64500", "country": "KZ"}
    assert value("vantage_as_status", kz) == Status.DOWN == 3
    assert value("vantage_as_status", {"asn": "64501", "country": "KZ"}) == Status.FILTERED
    assert value("vantage_as_confidence", kz) == pytest.approx(0.92)
    assert value("vantage_as_belief", kz) == pytest.approx(0.03)
    assert value("vantage_as_reachability_ratio", kz) == pytest.approx(0.05)
    assert value("vantage_as_protocol_reachability_ratio", {**kz, "protocol": "icmp"}) == pytest.approx(0.05)
    assert value("vantage_as_protocol_reachability_ratio", {**kz, "protocol": "http"}) == 0
    # A protocol with no attempts has no ratio rather than a misleading 0.
    assert value("vantage_as_protocol_reachability_ratio", {**kz, "protocol": "dns"}) is None
    assert value("vantage_as_packet_loss_ratio", kz) == pytest.approx(0.95)
    assert value("vantage_as_baseline_packet_loss_ratio", kz) == pytest.approx(0.01)
    assert value("vantage_as_rtt_seconds", kz) == pytest.approx(0.18)
    assert value("vantage_as_baseline_rtt_seconds", kz) == pytest.approx(0.0425)
    assert value("vantage_as_vantage_points", kz) == 5
    assert value("vantage_as_inside_vantage_points", kz) == 0
    assert value("vantage_as_failures", {**kz, "failure": "generic_timeout_error", "protocol": "icmp"}) == 19
    assert value("vantage_as_failures", {**kz, "failure": "connection_reset", "protocol": "http"}) == 10
    filtered = {"asn": "64501", "country": "KZ"}
    assert value("vantage_as_filtered_targets", {**filtered, "protocol": "http"}) == 2
    assert value("vantage_as_filtered_targets", {**filtered, "protocol": "dns"}) == 1
    assert value("vantage_as_status_since_timestamp_seconds", kz) == 1_767_609_000
    # Names survive quoting and backslashes.
    assert value("vantage_as_info", {**kz, "name": 'Kaz "Telecom"\\Backbone'}) == 1
    assert value("vantage_as_info", {"asn": "64501", "country": "KZ", "name": ""}) is None

    assert value("vantage_country_status", {"country": "KZ"}) == Status.DOWN
    assert value("vantage_country_status", {"country": "NL"}) == Status.UP
    assert value("vantage_country_reachability_ratio", {"country": "KZ"}) == pytest.approx(0.4)
    assert value("vantage_country_affected_ratio", {"country": "KZ"}) == pytest.approx(0.75)
    assert value("vantage_country_measured_ases", {"country": "NL"}) == 1
    assert value("vantage_country_ases", {"country": "KZ", "status": "down"}) == 1
    assert value("vantage_country_ases", {"country": "KZ", "status": "filtered"}) == 1
    assert value("vantage_country_ases", {"country": "KZ", "status": "up"}) == 0  # zeros exported
    assert value("vantage_country_inside_vantage_points", {"country": "KZ"}) == 2
    assert value("vantage_verdict_snapshot_ases") == 3


def test_the_latest_snapshot_replaces_the_previous_one(
    registry: CollectorRegistry, metrics: CollectorMetrics
) -> None:
    metrics.set_verdict_snapshot(kazakhstan_snapshot(down=True))
    assert registry.get_sample_value("vantage_as_status", {"asn": "64500", "country": "KZ"}) == Status.DOWN
    recovered = kazakhstan_snapshot(down=False)
    only_nl = VerdictSnapshot(
        as_verdicts=recovered.as_verdicts[2:], country_verdicts=recovered.country_verdicts
    )
    metrics.set_verdict_snapshot(only_nl)
    assert registry.get_sample_value("vantage_as_status", {"asn": "64500", "country": "KZ"}) is None
    assert registry.get_sample_value("vantage_as_status", {"asn": "64502", "country": "NL"}) == Status.UP


def test_each_series_appears_once_even_when_input_repeats(
    registry: CollectorRegistry, metrics: CollectorMetrics
) -> None:
    repeated = evidence(
        protocols=(
            ProtocolStat(Protocol.HTTP, 4, 1),
            ProtocolStat(Protocol.ICMP, 2, 2),
            ProtocolStat(Protocol.HTTP, 4, 3),
        ),
        failures=(
            FailureCount("connection_reset", Protocol.HTTP, 2),
            FailureCount("connection_reset", Protocol.HTTP, 1),
        ),
    )
    first = as_verdict(64510, "AM", Status.UP)
    metrics.set_verdict_snapshot(
        VerdictSnapshot(as_verdicts=(first, as_verdict(64510, "AM", Status.DOWN, ev=repeated)))
    )
    text = scrape(registry)
    series = [line.rsplit(" ", 1)[0] for line in text.splitlines() if not line.startswith("#")]
    assert len(series) == len(set(series))
    labels = {"asn": "64510", "country": "AM"}
    assert registry.get_sample_value("vantage_as_status", labels) == Status.DOWN  # the last wins
    assert (
        registry.get_sample_value("vantage_as_protocol_reachability_ratio", {**labels, "protocol": "http"})
        == 0.5
    )
    assert (
        registry.get_sample_value(
            "vantage_as_failures", {**labels, "failure": "connection_reset", "protocol": "http"}
        )
        == 3
    )


def test_fast_exposition_equals_prometheus_client_rendering(
    registry: CollectorRegistry, metrics: CollectorMetrics
) -> None:
    metrics.observe_batch(accepted=3, duplicates=0, rejected_by_reason={}, latency_s=0.02)
    metrics.set_verdict_snapshot(kazakhstan_snapshot(down=True))

    def parsed(text: str) -> dict[str, set[tuple[str, tuple[tuple[str, str], ...], float]]]:
        return {
            family.name: {(s.name, tuple(sorted(s.labels.items())), s.value) for s in family.samples}
            for family in text_string_to_metric_families(text)
            if not family.name.startswith("vantage_process_")  # CPU time moves between renders
        }

    fast, ordinary = parsed(scrape(registry)), parsed(generate_latest(registry).decode())
    fast.pop("vantage_metrics_render_seconds")
    ordinary.pop("vantage_metrics_render_seconds")
    assert fast == ordinary
    assert "vantage_as_failures" in fast


def test_verdict_labels_are_bounded_and_never_name_a_target(
    registry: CollectorRegistry, metrics: CollectorMetrics
) -> None:
    metrics.set_verdict_snapshot(kazakhstan_snapshot(down=True))
    text = scrape(registry)
    for family in text_string_to_metric_families(text):
        if family.name.startswith(("vantage_as_", "vantage_country_")):
            for sample in family.samples:
                assert set(sample.labels) <= ALLOWED_VERDICT_LABELS, sample
                if "name" in sample.labels:
                    assert family.name == "vantage_as_info"
    # FilteredTarget ids of the snapshot (t-1, t-2, t-3) are evidence, not labels.
    assert '"t-1"' not in text and "t-2" not in text


def test_an_empty_snapshot_renders_no_empty_families(
    registry: CollectorRegistry, metrics: CollectorMetrics
) -> None:
    metrics.set_verdict_snapshot(VerdictSnapshot())
    text = scrape(registry)
    assert "vantage_as_status" not in text
    assert "vantage_verdict_snapshot_ases 0.0" in text


def test_render_happens_once_per_snapshot(registry: CollectorRegistry) -> None:
    ticks = iter(float(n) for n in range(100))
    metrics = CollectorMetrics(registry, clock=lambda: next(ticks), prerender_snapshots=False)
    snapshot = kazakhstan_snapshot()
    metrics.set_verdict_snapshot(snapshot)
    scrape(registry)
    scrape(registry)
    assert registry.get_sample_value("vantage_metrics_render_seconds") == 1.0
    # One render = two clock readings; a second render would have advanced the clock further.
    assert next(ticks) == 2.0
    metrics.set_verdict_snapshot(dataclasses.replace(snapshot))  # equal but new: rendered again
    scrape(registry)
    assert next(ticks) == 5.0


def test_a_new_snapshot_is_rendered_before_anyone_scrapes(registry: CollectorRegistry) -> None:
    readings: list[float] = []

    def clock() -> float:
        readings.append(float(len(readings)))
        return readings[-1]

    metrics = CollectorMetrics(registry, clock=clock)
    metrics.set_verdict_snapshot(kazakhstan_snapshot())
    deadline = time.monotonic() + 10
    while len(readings) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(readings) == 2  # rendered on the background thread, without a scrape
    scrape(registry)
    assert len(readings) == 2  # and the scrape reused it


def test_non_finite_values_stay_parseable(registry: CollectorRegistry, metrics: CollectorMetrics) -> None:
    odd = as_verdict(64530, "UA", Status.UNKNOWN, confidence=math.nan, belief=math.inf)
    metrics.set_verdict_snapshot(VerdictSnapshot(as_verdicts=(odd,)))
    labels = {"asn": "64530", "country": "UA"}
    confidence = registry.get_sample_value("vantage_as_confidence", labels)
    assert confidence is not None and math.isnan(confidence)
    assert registry.get_sample_value("vantage_as_belief", labels) == math.inf


def test_the_mechanism_is_a_bounded_label_per_as_country_and_open_event(
    registry: CollectorRegistry, metrics: CollectorMetrics
) -> None:
    from tests.collector.verdict.helpers import T0
    from vantage.collector.verdict.model import Event, EventKind, Mechanism

    snapshot = kazakhstan_snapshot(down=True)
    cut = dataclasses.replace(snapshot.as_verdicts[0], mechanism=Mechanism.BGP_WITHDRAWAL)
    country = dataclasses.replace(snapshot.country_verdicts[0], mechanism=Mechanism.BGP_WITHDRAWAL)

    def outage(event_id: str, asn: int, mechanism: Mechanism, ended: bool = False) -> Event:
        return Event(
            event_id, EventKind.OUTAGE, asn, "KZ", T0, T0 if ended else None, 5.0, 0.9, "", 1, 2,
            mechanism=mechanism,
        )  # fmt: skip

    metrics.set_verdict_snapshot(
        dataclasses.replace(
            snapshot,
            as_verdicts=(cut, *snapshot.as_verdicts[1:]),
            country_verdicts=(country, *snapshot.country_verdicts[1:]),
            open_events=(
                outage("a", 64500, Mechanism.BGP_WITHDRAWAL),
                outage("b", 0, Mechanism.BGP_WITHDRAWAL),
                outage("c", 64509, Mechanism.DATA_PLANE, ended=True),  # closed: not counted
            ),
        )
    )
    value = registry.get_sample_value
    assert (
        value("vantage_as_mechanism", {"asn": "64500", "country": "KZ", "mechanism": "bgp_withdrawal"}) == 1
    )
    assert value("vantage_as_mechanism", {"asn": "64502", "country": "NL", "mechanism": "none"}) is None
    assert value("vantage_country_mechanism", {"country": "KZ", "mechanism": "bgp_withdrawal"}) == 1
    assert value("vantage_open_events", {"kind": "outage", "mechanism": "bgp_withdrawal"}) == 2
    assert value("vantage_open_events", {"kind": "outage", "mechanism": "data_plane"}) == 0
    assert value("vantage_open_events", {"kind": "filtering", "mechanism": "service_blocking"}) == 0
