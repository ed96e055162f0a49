"""QueryService messages -> what a page shows (web/models.py): conversion only, no I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from vantage.collector.verdict.model import LAYER_NAMES, MECHANISM_NAMES, Layer, Mechanism
from vantage.protocols import KINDS
from vantage.v1 import query_service_pb2
from vantage.web.models import (
    STATUS_ORDER,
    AsCoverageRow,
    AsPage,
    AsRow,
    CountryPage,
    CountryRow,
    Coverage,
    EventPage,
    EventRow,
    EvidenceView,
    FailureLine,
    FilteredLine,
    Fleet,
    FleetRow,
    Overview,
    Point,
    ProtocolLine,
    Timeline,
    duration_words,
    utc,
)

STATUS_WORDS = {
    query_service_pb2.STATUS_UNSPECIFIED: "UNKNOWN",
    query_service_pb2.STATUS_UP: "UP",
    query_service_pb2.STATUS_DEGRADED: "DEGRADED",
    query_service_pb2.STATUS_DOWN: "DOWN",
    query_service_pb2.STATUS_FILTERED: "FILTERED",
    query_service_pb2.STATUS_UNKNOWN: "UNKNOWN",
}


NOT_UP = (
    query_service_pb2.STATUS_DOWN,
    query_service_pb2.STATUS_FILTERED,
    query_service_pb2.STATUS_DEGRADED,
    query_service_pb2.STATUS_UNKNOWN,
)


KIND_WORDS = {
    query_service_pb2.EVENT_KIND_OUTAGE: "outage",
    query_service_pb2.EVENT_KIND_DEGRADATION: "degradation",
    query_service_pb2.EVENT_KIND_FILTERING: "filtering",
}


# The measurement kinds' names from their one table (vantage/protocols.py), as pages print them.
PROTOCOL_WORDS = {int(kind.protocol): kind.name.upper() for kind in KINDS}


def _seconds(stamp: object) -> float:
    return float(stamp.seconds) + float(stamp.nanos) / 1e9  # type: ignore[attr-defined]


def status_word(status: int) -> str:
    return STATUS_WORDS.get(status, "UNKNOWN")  # type: ignore[call-overload, no-any-return]


def mechanism_word(mechanism: int, layer: int = 0) -> str:
    """ "" for none, else the mechanism's name (collector/verdict/model.py), with the layer if any."""
    try:
        name, at = MECHANISM_NAMES[Mechanism(mechanism)], LAYER_NAMES[Layer(layer)]
    except ValueError:  # a newer collector's value
        return "unknown"
    if name == "none":
        return ""
    return f"{name}/{at}" if at else name


def evidence_view(evidence: query_service_pb2.Evidence) -> EvidenceView:
    return EvidenceView(
        summary=evidence.summary,
        vantage_points=evidence.vantage_points,
        vantage_ases=evidence.vantage_ases,
        targets=evidence.targets,
        vantage_asns=tuple(evidence.vantage_asns),
        protocols=tuple(
            ProtocolLine(PROTOCOL_WORDS.get(p.protocol, "?"), p.successes, p.attempts)
            for p in evidence.protocols
        ),
        failures=tuple(
            sorted(
                (
                    FailureLine(f.failure, PROTOCOL_WORDS.get(f.protocol, "?"), f.count)
                    for f in evidence.failures
                ),
                key=lambda line: -line.count,
            )
        ),
        filtered=tuple(
            FilteredLine(
                t.target,
                PROTOCOL_WORDS.get(t.protocol, "?"),
                t.failure,
                t.inside_failures,
                t.control_successes,
            )
            for t in evidence.filtered_targets
        ),
        suspect_probes=len(evidence.suspect_probes),
        mechanism_reason=evidence.mechanism_reason,
        routing=evidence.routing.reason if evidence.HasField("routing") else "",
    )


def as_row(status: query_service_pb2.AsStatus) -> AsRow:
    return AsRow(
        asn=status.asn,
        name=status.as_name,
        country=status.country,
        status=status_word(status.status),
        confidence_pct=round(100 * status.confidence),
        since=utc(_seconds(status.since)) if status.HasField("since") else "",
        round=status.round,
        round_start_unix_s=_seconds(status.round_start),
        evidence=evidence_view(status.evidence),
        algorithm_version=status.algorithm_version,
        mechanism=mechanism_word(status.mechanism, status.mechanism_layer),
    )


def country_row(status: query_service_pb2.CountryStatus) -> CountryRow:
    return CountryRow(
        country=status.country,
        status=status_word(status.status),
        confidence_pct=round(100 * status.confidence),
        since=utc(_seconds(status.since)) if status.HasField("since") else "",
        summary=status.summary,
        affected_pct=round(100 * status.affected_share),
        measured_ases=status.measured_ases,
        round=status.round,
        round_start_unix_s=_seconds(status.round_start),
        mechanism=mechanism_word(status.mechanism, status.mechanism_layer),
        mechanism_reason=status.mechanism_reason,
    )


def event_row(event: query_service_pb2.Event, *, now_unix_s: float) -> EventRow:
    started = _seconds(event.started_at)
    ongoing = event.state != query_service_pb2.EVENT_STATE_CLOSED or not event.HasField("ended_at")
    ended = None if ongoing else _seconds(event.ended_at)
    return EventRow(
        event_id=event.id,
        kind=KIND_WORDS.get(event.kind, "event"),
        ongoing=ongoing,
        asn=event.asn,
        country=event.country,
        started_unix_s=started,
        ended_unix_s=ended,
        started=utc(started),
        ended="ongoing" if ended is None else utc(ended),
        duration=duration_words((now_unix_s if ended is None else ended) - started),
        severity=round(event.severity, 1),
        confidence_pct=round(100 * event.confidence),
        summary=event.summary,
        mechanism=mechanism_word(event.mechanism, event.mechanism_layer),
        mechanism_reason=event.mechanism_reason,
    )


def event_rows(events: Iterable[query_service_pb2.Event], *, now_unix_s: float) -> tuple[EventRow, ...]:
    """Ongoing events first, then the most recent first."""
    rows = [event_row(e, now_unix_s=now_unix_s) for e in events]
    return tuple(sorted(rows, key=lambda r: (not r.ongoing, -r.started_unix_s, r.event_id)))


def timeline(message: query_service_pb2.Timeline, *, now_unix_s: float) -> Timeline:
    return Timeline(
        points=tuple(
            Point(
                p.round,
                _seconds(p.round_start),
                status_word(p.status),
                p.confidence,
                p.reachability_ratio,
                mechanism_word(p.mechanism),
            )
            for p in message.points
        ),
        events=event_rows(message.events, now_unix_s=now_unix_s),
    )


def _worst_first(rows: Sequence[AsRow]) -> tuple[AsRow, ...]:
    return tuple(sorted(rows, key=lambda r: (STATUS_ORDER.index(r.status), -r.confidence_pct, r.asn)))


def overview(
    countries: Iterable[query_service_pb2.CountryStatus],
    ases: Iterable[query_service_pb2.AsStatus],
    events: Iterable[query_service_pb2.Event],
    *,
    now_unix_s: float,
) -> Overview:
    as_rows = [as_row(s) for s in ases]
    country_rows = [country_row(c) for c in countries]
    rounds = [(r.round, r.round_start_unix_s) for r in as_rows] + [
        (c.round, c.round_start_unix_s) for c in country_rows
    ]
    last_round, last_start = max(rounds, default=(0, 0.0))
    return Overview(
        last_round=last_round,
        last_round_at=utc(last_start) if last_round else "",
        countries=tuple(
            sorted(
                (c for c in country_rows if c.status != "UP"),
                key=lambda c: (STATUS_ORDER.index(c.status), c.country),
            )
        ),
        ases=_worst_first([r for r in as_rows if r.status != "UP"]),
        events=event_rows(events, now_unix_s=now_unix_s),
    )


def coverage(
    status: query_service_pb2.CountryStatus,
    rows: Sequence[AsRow],
    discovered: query_service_pb2.Coverage | None,
) -> Coverage:
    counted = Coverage(
        measured_ases=status.measured_ases,
        targets=sum(r.evidence.targets for r in rows),
        vantage_points=max((r.evidence.vantage_points for r in rows), default=0),
        vantage_ases=len({asn for r in rows for asn in r.evidence.vantage_asns}),
    )
    country = (
        next((c for c in discovered.countries if c.country == status.country), None) if discovered else None
    )
    if discovered is None or country is None:
        return counted
    return Coverage(
        counted.measured_ases,
        counted.targets,
        counted.vantage_points,
        counted.vantage_ases,
        analysable_pct=round(100 * country.analysable_share),
        addresses=country.addresses,
        ases=country.ases,
        analysable_ases=country.analysable_ases,
        rows=tuple(
            AsCoverageRow(
                a.asn, a.as_name, a.targets, a.vantage_points, a.vantage_ases,
                a.blocks_responsive, a.blocks_known, a.analysable, a.reason,
            )
            for a in sorted(discovered.ases, key=lambda a: (a.analysable, a.asn))
            if a.country == status.country
        ),
    )  # fmt: skip


def country_page(
    status: query_service_pb2.CountryStatus,
    ases: Iterable[query_service_pb2.AsStatus],
    country_timeline: query_service_pb2.Timeline,
    events: Iterable[query_service_pb2.Event],
    *,
    now_unix_s: float,
    discovered: query_service_pb2.Coverage | None = None,
) -> CountryPage:
    rows = _worst_first([as_row(s) for s in ases])
    return CountryPage(
        status=country_row(status),
        ases=rows,
        timeline=timeline(country_timeline, now_unix_s=now_unix_s),
        events=event_rows(events, now_unix_s=now_unix_s),
        coverage=coverage(status, rows, discovered),
    )


def as_page(
    status: query_service_pb2.AsStatus, as_timeline: query_service_pb2.Timeline, *, now_unix_s: float
) -> AsPage:
    return AsPage(as_row(status), timeline(as_timeline, now_unix_s=now_unix_s))


def event_page(
    event: query_service_pb2.Event,
    affected: Iterable[query_service_pb2.AsStatus],
    scope_timeline: query_service_pb2.Timeline,
    *,
    now_unix_s: float,
) -> EventPage:
    row = event_row(event, now_unix_s=now_unix_s)
    series = timeline(scope_timeline, now_unix_s=now_unix_s)
    end = row.ended_unix_s if row.ended_unix_s is not None else float("inf")
    during = [p for p in series.points if row.started_unix_s <= p.round_start_unix_s < end]
    peak = min(during, key=lambda p: (p.reachability, p.round), default=None)
    return EventPage(row, _worst_first([as_row(s) for s in affected]), peak, series)


def fleet(probes: Iterable[query_service_pb2.ProbeRecord]) -> Fleet:
    """Probes counted by country and AS; never a probe's address, id or credential."""
    counts: dict[tuple[str, int], Counter[str]] = {}
    for probe in probes:
        counter = counts.setdefault((probe.country or "??", probe.asn), Counter())
        counter["probes"] += 1
        counter["alive"] += probe.state == query_service_pb2.PROBE_STATE_ALIVE
        counter["silent"] += probe.state == query_service_pb2.PROBE_STATE_SILENT
        counter["revoked"] += probe.state == query_service_pb2.PROBE_STATE_REVOKED
        counter["suspect"] += probe.suspect
    rows = tuple(
        FleetRow(country, asn, c["probes"], c["alive"], c["silent"], c["revoked"], c["suspect"])
        for (country, asn), c in sorted(counts.items())
    )
    return Fleet(
        rows,
        sum(r.probes for r in rows),
        sum(r.connected for r in rows),
        len({r.country for r in rows}),
    )
