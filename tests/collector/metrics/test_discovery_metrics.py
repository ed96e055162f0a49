"""Discovery progress per campaign and coverage per country, as Prometheus series."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from vantage.collector.metrics.service_metrics import (
    CampaignFigures,
    CollectorMetrics,
    CountryCoverageFigures,
    render_registry,
)


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = b"".join(render_registry(registry)).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith(("vantage_discovery", "vantage_coverage"))
    }


def test_campaign_progress_and_country_coverage_with_bounded_labels() -> None:
    registry = CollectorRegistry(auto_describe=False)
    metrics = CollectorMetrics(registry, prerender_snapshots=False)
    assert samples(registry) == {}  # no campaign: no series
    metrics.set_discovery(
        [CampaignFigures("3f2a9c0d1e4b5a6f", blocks_total=512, blocks_done=128, responders=900)],
        [
            CountryCoverageFigures(
                "KZ", addresses=131072, analysable_addresses=32768, ases=4, analysable_ases=1
            )
        ],
    )
    found = samples(registry)
    campaign = (("campaign", "3f2a9c0d1e4b5a6f"),)
    assert found[("vantage_discovery_blocks", campaign)] == 512
    assert found[("vantage_discovery_blocks_done", campaign)] == 128
    assert found[("vantage_discovery_responders", campaign)] == 900
    kz = (("country", "KZ"),)
    assert found[("vantage_coverage_analysable_share", kz)] == 0.25
    assert found[("vantage_coverage_analysable_ases", kz)] == 1 and found[("vantage_coverage_ases", kz)] == 4
    assert {label for (_, labels) in found for label, _ in labels} == {"campaign", "country"}
    metrics.set_discovery([], [])  # a cancelled campaign's series go away
    assert samples(registry) == {}
