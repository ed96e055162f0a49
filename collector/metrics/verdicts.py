"""Per-AS and per-country verdict metrics, rendered from one snapshot (pure: no I/O, no clock).

The collector service hands `CollectorMetrics` a `VerdictSnapshot` after each
round; `render_verdict_families` turns it into `RenderedFamily` objects once,
and every scrape until the next round serves them. Labels are bounded: `asn`,
`country`, `protocol`, `status`, `failure` (a string of the closed vocabulary
in vantage.failures) and, on `vantage_as_info` only, `name` (one per AS).
Never a target.

Status is exposed as a numeric code (the vantage.v1.Status number, see
STATUS_HELP) rather than one series per status value: at 75,000 ASes five
series per AS would be 375,000 series for one fact. The per-status view exists
where it is cheap: `vantage_country_ases{country,status}` counts ASes by status.
The mechanism (collector/verdict/mechanism.py, a closed set of seven names) is a
label: `vantage_as_mechanism` has one series per AS that has one (none while it
is UP), and `vantage_open_events{kind,mechanism}` counts the open events of every
kind by mechanism, zeros included.

Values of the latest round are gauges (a failure count is "failures of this
AS in the latest round", not an ever-growing counter). Sparse families
(failures, filtered targets, loss/RTT when ICMP was not measured) have no
series where there is nothing to say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from vantage.collector.metrics.text import RenderedFamily, escape_label_value, family_text
from vantage.collector.verdict.events import KIND_WORD
from vantage.collector.verdict.model import (
    MECHANISM_NAMES,
    AsVerdict,
    CountryVerdict,
    Event,
    FailureCount,
    Mechanism,
    Protocol,
    ProtocolStat,
    Status,
)

__all__ = ["STATUS_HELP", "STATUS_LABELS", "VerdictSnapshot", "render_verdict_families"]

STATUS_LABELS: Mapping[Status, str] = MappingProxyType(
    {
        Status.UP: "up",
        Status.DEGRADED: "degraded",
        Status.DOWN: "down",
        Status.FILTERED: "filtered",
        Status.UNKNOWN: "unknown",
    }
)
STATUS_HELP = "0=unspecified 1=up 2=degraded 3=down 4=filtered 5=unknown (vantage.v1.Status numbers)"

_PROTOCOL_LABELS: Mapping[Protocol, str] = MappingProxyType({p: p.name.lower() for p in Protocol})


@dataclass(frozen=True, slots=True)
class VerdictSnapshot:
    """The verdicts of the latest computed round, as the metrics endpoint shows them."""

    as_verdicts: Sequence[AsVerdict] = ()
    country_verdicts: Sequence[CountryVerdict] = ()
    as_names: Mapping[int, str] = field(default_factory=dict)
    open_events: Sequence[Event] = ()  # AS and country events open after the round


class _Timestamp(dict[datetime, str]):
    """Memoised Unix-time text at full precision (many verdicts share one round start)."""

    def __missing__(self, moment: datetime) -> str:
        seconds = moment.timestamp()
        text = str(int(seconds)) if seconds.is_integer() else repr(seconds)
        self[moment] = text
        return text


# (name, HELP) of every family, in exposition order.
_AS_FAMILIES: tuple[tuple[str, str], ...] = (
    ("vantage_as_info", "AS name of an autonomous system in the latest verdict round (value 1)."),
    ("vantage_as_status", "Verdict status of the AS as a code: " + STATUS_HELP + "."),
    ("vantage_as_status_since_timestamp_seconds", "Unix time since which the AS has had its status."),
    ("vantage_as_confidence", "Confidence of the AS verdict, 0..1."),
    ("vantage_as_belief", "Posterior belief that the AS is reachable from outside, 0..1."),
    ("vantage_as_reachability_ratio", "Share of the latest round's measurements of the AS that succeeded."),
    (
        "vantage_as_protocol_reachability_ratio",
        "Share of the latest round's measurements of the AS that succeeded, per protocol.",
    ),
    ("vantage_as_packet_loss_ratio", "ICMP packet loss towards the AS in the latest round, 0..1."),
    ("vantage_as_baseline_packet_loss_ratio", "Baseline (normal) ICMP packet loss towards the AS, 0..1."),
    ("vantage_as_rtt_seconds", "Round-trip time towards the AS in the latest round."),
    ("vantage_as_baseline_rtt_seconds", "Baseline (normal) round-trip time towards the AS."),
    ("vantage_as_vantage_points", "Probes whose measurements of the AS were used in the latest round."),
    ("vantage_as_inside_vantage_points", "Probes inside the AS that reported in the latest round."),
    (
        "vantage_as_failures",
        "Failed measurements of the AS in the latest round, by failure string (vantage.failures)"
        " and protocol.",
    ),
    (
        "vantage_as_filtered_targets",
        "Targets failing from inside the AS that work from control vantage points, per protocol.",
    ),
    (
        "vantage_as_mechanism",
        "How the AS is cut off or interfered with (value 1; no series while nothing is wrong): "
        + ", ".join(name for name in MECHANISM_NAMES.values() if name != "none")
        + ".",
    ),
)
_COUNTRY_FAMILIES: tuple[tuple[str, str], ...] = (
    ("vantage_country_status", "Verdict status of the country as a code: " + STATUS_HELP + "."),
    (
        "vantage_country_status_since_timestamp_seconds",
        "Unix time since which the country has had its status.",
    ),
    ("vantage_country_confidence", "Confidence of the country verdict, 0..1."),
    (
        "vantage_country_affected_ratio",
        "Weighted share of the country's measured ASes that are affected, 0..1.",
    ),
    (
        "vantage_country_reachability_ratio",
        "Share of the latest round's measurements in the country that succeeded.",
    ),
    ("vantage_country_measured_ases", "ASes of the country measured in the latest round."),
    ("vantage_country_ases", "ASes of the country by verdict status in the latest round."),
    ("vantage_country_inside_vantage_points", "Probes inside the country that reported in the latest round."),
    ("vantage_country_mechanism", "How the country is cut off (value 1; no series while nothing is wrong)."),
    (
        "vantage_open_events",
        "Open outage/degradation/filtering events (AS and country) by kind and mechanism.",
    ),
)


def render_verdict_families(snapshot: VerdictSnapshot) -> list[RenderedFamily]:
    """All per-AS and per-country families of one snapshot (an AS listed twice: the last wins)."""
    lines: dict[str, list[str]] = {name: [] for name, _ in _AS_FAMILIES + _COUNTRY_FAMILIES}
    by_asn = {verdict.asn: verdict for verdict in snapshot.as_verdicts}
    _render_ases(by_asn.values(), snapshot.as_names, lines)
    _render_countries(snapshot.country_verdicts, by_asn.values(), lines)
    _render_open_events(snapshot.open_events, lines)
    return [
        RenderedFamily(name, documentation, family_text(name, lines[name]))
        for name, documentation in _AS_FAMILIES + _COUNTRY_FAMILIES
    ]


def _render_ases(
    verdicts: Iterable[AsVerdict], as_names: Mapping[int, str], lines: dict[str, list[str]]
) -> None:
    # The hot loop of a snapshot's render (75,000 ASes, ~1.1M lines). Written for
    # CPython: local names for every list, one label string per AS, values
    # formatted inside f-strings (six significant digits: finer than any ratio of a
    # round's counts needs, and shorter than repr), no helper call per sample.
    timestamp = _Timestamp().__getitem__  # a C-level call; misses fill the memo
    status_text = {status: str(int(status)) for status in Status}
    countries: dict[str, str] = {}
    failure_labels: dict[str, str] = {}
    protocol_labels = _PROTOCOL_LABELS
    info = lines["vantage_as_info"]
    status = lines["vantage_as_status"]
    since = lines["vantage_as_status_since_timestamp_seconds"]
    confidence = lines["vantage_as_confidence"]
    belief = lines["vantage_as_belief"]
    ratio = lines["vantage_as_reachability_ratio"]
    protocol_ratio = lines["vantage_as_protocol_reachability_ratio"]
    loss = lines["vantage_as_packet_loss_ratio"]
    baseline_loss = lines["vantage_as_baseline_packet_loss_ratio"]
    rtt = lines["vantage_as_rtt_seconds"]
    baseline_rtt = lines["vantage_as_baseline_rtt_seconds"]
    vantage_points = lines["vantage_as_vantage_points"]
    inside = lines["vantage_as_inside_vantage_points"]
    failures = lines["vantage_as_failures"]
    filtered = lines["vantage_as_filtered_targets"]
    mechanism = lines["vantage_as_mechanism"]
    mechanism_names = MECHANISM_NAMES
    for verdict in verdicts:
        evidence = verdict.evidence
        country = countries.get(verdict.country)
        if country is None:
            country = countries[verdict.country] = escape_label_value(verdict.country)
        opening = f'{{asn="{verdict.asn}",country="{country}"'
        labels = opening + "} "
        name = as_names.get(verdict.asn)
        if name:
            info.append(f'{opening},name="{escape_label_value(name)}"}} 1')
        status.append(labels + status_text[verdict.status])
        if verdict.mechanism:
            mechanism.append(f'{opening},mechanism="{mechanism_names[verdict.mechanism]}"}} 1')
        since.append(labels + timestamp(verdict.since))
        confidence.append(f"{labels}{verdict.confidence:.6g}")
        belief.append(f"{labels}{verdict.belief:.6g}")
        ratio.append(f"{labels}{verdict.reachability_ratio:.6g}")
        stats = evidence.protocols
        if len(stats) > 1 and not _protocols_ascending(stats):
            stats = _merge_protocols(stats)
        for stat in stats:
            if stat.attempts:
                share = stat.successes / stat.attempts
                protocol_ratio.append(f'{opening},protocol="{protocol_labels[stat.protocol]}"}} {share:.6g}')
        if evidence.loss_ratio is not None:
            loss.append(f"{labels}{evidence.loss_ratio:.6g}")
        if evidence.baseline_loss_ratio is not None:
            baseline_loss.append(f"{labels}{evidence.baseline_loss_ratio:.6g}")
        if evidence.rtt_ms is not None:
            rtt.append(f"{labels}{evidence.rtt_ms / 1000.0:.6g}")
        if evidence.baseline_rtt_ms is not None:
            baseline_rtt.append(f"{labels}{evidence.baseline_rtt_ms / 1000.0:.6g}")
        vantage_points.append(f"{labels}{evidence.vantage_points}")
        inside.append(f"{labels}{evidence.inside_vantage_points}")
        counts = evidence.failures
        if len(counts) > 1 and not _failures_ascending(counts):
            counts = _merge_failures(counts)
        for count in counts:
            label = failure_labels.get(count.failure)
            if label is None:
                label = failure_labels[count.failure] = escape_label_value(count.failure)
            failures.append(
                f'{opening},failure="{label}",protocol="{protocol_labels[count.protocol]}"}} {count.count}'
            )
        if evidence.filtered_targets:
            per_protocol: dict[Protocol, int] = {}
            for target in evidence.filtered_targets:
                per_protocol[target.protocol] = per_protocol.get(target.protocol, 0) + 1
            for protocol, number in per_protocol.items():
                filtered.append(f'{opening},protocol="{protocol_labels[protocol]}"}} {number}')


# The engine lists protocols and failures sorted and unique (evidence is built from
# sorted dicts). Checking that costs no allocation, unlike a set per AS: allocating
# containers in this loop triggers garbage collections that walk the whole snapshot
# (measured: +30 % render time at 75,000 ASes). Anything else is merged.
def _protocols_ascending(stats: Sequence[ProtocolStat]) -> bool:
    previous = -1
    for stat in stats:
        if stat.protocol <= previous:
            return False
        previous = stat.protocol
    return True


def _failures_ascending(counts: Sequence[FailureCount]) -> bool:
    previous_failure, previous_protocol = "", -1
    for count in counts:
        if count.failure < previous_failure or (
            count.failure == previous_failure and count.protocol <= previous_protocol
        ):
            return False
        previous_failure, previous_protocol = count.failure, count.protocol
    return True


def _merge_protocols(stats: Sequence[ProtocolStat]) -> tuple[ProtocolStat, ...]:
    """One ProtocolStat per protocol (the engine lists each once; merged so no series is duplicated)."""
    totals: dict[Protocol, tuple[int, int]] = {}
    for stat in stats:
        attempts, successes = totals.get(stat.protocol, (0, 0))
        totals[stat.protocol] = (attempts + stat.attempts, successes + stat.successes)
    return tuple(ProtocolStat(protocol, attempts, ok) for protocol, (attempts, ok) in totals.items())


def _merge_failures(counts: Sequence[FailureCount]) -> tuple[FailureCount, ...]:
    """One FailureCount per (failure, protocol), summed."""
    totals: dict[tuple[str, Protocol], int] = {}
    for count in counts:
        key = (count.failure, count.protocol)
        totals[key] = totals.get(key, 0) + count.count
    return tuple(FailureCount(failure, protocol, number) for (failure, protocol), number in totals.items())


def _render_countries(
    verdicts: Sequence[CountryVerdict], as_verdicts: Iterable[AsVerdict], lines: dict[str, list[str]]
) -> None:
    timestamp = _Timestamp().__getitem__
    ases_by_status: dict[str, dict[Status, int]] = {}
    inside_by_country: dict[str, int] = {}
    for as_verdict in as_verdicts:
        counts = ases_by_status.setdefault(as_verdict.country, {})
        counts[as_verdict.status] = counts.get(as_verdict.status, 0) + 1
        inside_by_country[as_verdict.country] = (
            inside_by_country.get(as_verdict.country, 0) + as_verdict.evidence.inside_vantage_points
        )
    for verdict in {v.country: v for v in verdicts}.values():
        labels = f'{{country="{escape_label_value(verdict.country)}"}} '
        lines["vantage_country_status"].append(labels + str(int(verdict.status)))
        lines["vantage_country_status_since_timestamp_seconds"].append(labels + timestamp(verdict.since))
        lines["vantage_country_confidence"].append(f"{labels}{verdict.confidence:.6g}")
        lines["vantage_country_affected_ratio"].append(f"{labels}{verdict.affected_share:.6g}")
        lines["vantage_country_reachability_ratio"].append(f"{labels}{verdict.reachability_ratio:.6g}")
        lines["vantage_country_measured_ases"].append(labels + str(verdict.measured_ases))
        if verdict.mechanism:
            lines["vantage_country_mechanism"].append(
                f'{{country="{escape_label_value(verdict.country)}",'
                f'mechanism="{MECHANISM_NAMES[verdict.mechanism]}"}} 1'
            )
    # Every status of every country with ASes, zeros included, so `== 0` and
    # ratios between statuses work in PromQL without `or vector(0)`.
    for country in sorted(ases_by_status):
        counts = ases_by_status[country]
        escaped = escape_label_value(country)
        for status_value, label in STATUS_LABELS.items():
            lines["vantage_country_ases"].append(
                f'{{country="{escaped}",status="{label}"}} {counts.get(status_value, 0)}'
            )
        lines["vantage_country_inside_vantage_points"].append(
            f'{{country="{escaped}"}} {inside_by_country[country]}'
        )


def _render_open_events(events: Sequence[Event], lines: dict[str, list[str]]) -> None:
    counts: dict[tuple[str, Mechanism], int] = {}
    for event in events:
        if event.ended_at is None:
            key = (KIND_WORD[event.kind], event.mechanism)
            counts[key] = counts.get(key, 0) + 1
    for kind in KIND_WORD.values():
        for mechanism, name in MECHANISM_NAMES.items():
            lines["vantage_open_events"].append(
                f'{{kind="{kind}",mechanism="{name}"}} {counts.get((kind, mechanism), 0)}'
            )
