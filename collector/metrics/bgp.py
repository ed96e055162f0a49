"""The routing signal's metrics: feeds, messages, per-AS visibility (a prometheus_client collector).

Labels are bounded: `feed` is the source's kind and position ("exabgp", "ris-live-2"), never
its path or URL; `format` and `reason` come from closed sets (feed.py's formats, ParseError
reasons); `asn` is one per AS, as in the verdict metrics (collector/metrics/verdicts.py). The
per-AS families are built once per visibility snapshot (once a round) and served until the next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from vantage.collector.bgp.feeds import FeedFigures
from vantage.collector.bgp.model import AsRouting

__all__ = ["ROUTING_STATE_HELP", "BgpMetricsCollector"]

ROUTING_STATE_HELP = "0=unknown 1=visible 2=partial 3=withdrawn (RoutingState numbers)"


class BgpMetricsCollector(Collector):
    def __init__(self, figures: Callable[[], FeedFigures], feed_labels: Mapping[str, str]) -> None:
        self._figures = figures
        self._labels = dict(feed_labels)  # source name -> feed label
        self._rendered_for: object = None
        self._as_families: list[Any] = []

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        figures = self._figures()
        up = GaugeMetricFamily(
            "vantage_bgp_feed_up", "Whether the route feed is connected (1) or not.", labels=["feed"]
        )
        loaded = GaugeMetricFamily(
            "vantage_bgp_feed_table_loaded",
            "Whether the route feed's table is loaded (1) or not.",
            labels=["feed"],
        )
        for status in figures.statuses:
            label = self._labels.get(status.source, "other")
            up.add_metric([label], 1.0 if status.connected else 0.0)
            loaded.add_metric([label], 1.0 if status.table_loaded else 0.0)
        yield up
        yield loaded
        parsed = CounterMetricFamily(
            "vantage_bgp_messages_parsed", "Route feed messages parsed, per format.", labels=["format"]
        )
        for fmt, count in sorted(figures.parsed.items()):
            parsed.add_metric([fmt], count)
        yield parsed
        rejected = CounterMetricFamily(
            "vantage_bgp_messages_rejected",
            "Route feed messages rejected, per format and reason (ParseError reasons).",
            labels=["format", "reason"],
        )
        for (fmt, reason), count in sorted(figures.rejected.items()):
            rejected.add_metric([fmt, reason], count)
        yield rejected
        yield GaugeMetricFamily(
            "vantage_bgp_full_feed_peers",
            "Route collector peers counted as full-feed in the latest visibility computation.",
            value=sum(1 for peer in figures.peers if peer.full_feed),
        )
        yield GaugeMetricFamily(
            "vantage_bgp_peers", "Route collector peers heard from.", value=len(figures.peers)
        )
        if figures.visibility is not self._rendered_for:
            self._as_families = _as_families(figures.visibility)
            self._rendered_for = figures.visibility
        yield from self._as_families


def _as_families(visibility: Mapping[int, AsRouting]) -> list[Any]:
    state = GaugeMetricFamily(
        "vantage_as_routing_state",
        "Routing visibility of the AS as a code: " + ROUTING_STATE_HELP + ".",
        labels=["asn"],
    )
    prefixes = GaugeMetricFamily(
        "vantage_as_visible_prefixes",
        "Prefixes the AS originates that more than half the full-feed peers carry.",
        labels=["asn"],
    )
    addresses = GaugeMetricFamily(
        "vantage_as_visible_ipv4_addresses",
        "IPv4 addresses in the union of the AS's visible prefixes.",
        labels=["asn"],
    )
    baseline = GaugeMetricFamily(
        "vantage_as_baseline_ipv4_addresses",
        "IPv4 addresses in the union of the AS's baseline prefixes.",
        labels=["asn"],
    )
    for asn in sorted(visibility):
        routing = visibility[asn]
        label = [str(asn)]
        state.add_metric(label, int(routing.state))
        prefixes.add_metric(label, routing.visible_prefixes)
        addresses.add_metric(label, routing.visible_addresses)
        baseline.add_metric(label, routing.baseline_addresses)
    return [state, prefixes, addresses, baseline]
