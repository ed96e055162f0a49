"""Verdict-engine output (plain data) → wire messages and stored records."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from vantage.collector.bgp.model import AsRouting
from vantage.collector.storage.records import StoredAsVerdict, StoredCountryVerdict, StoredEvent
from vantage.collector.verdict.model import AsVerdict, CountryVerdict, Event, Evidence
from vantage.collector.verdict.paths import Localisation
from vantage.collector.wire.record_messages import timestamp
from vantage.v1 import query_service_pb2


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def evidence_to_proto(e: Evidence) -> query_service_pb2.Evidence:
    return query_service_pb2.Evidence(
        vantage_points=e.vantage_points,
        vantage_ases=len(e.vantage_asns),
        targets=e.targets,
        protocols=[
            query_service_pb2.ProtocolStat(
                protocol=int(p.protocol),  # type: ignore[arg-type]
                attempts=p.attempts,
                successes=p.successes,
                success_ratio=p.success_ratio,
            )
            for p in e.protocols
        ],
        failures=[
            query_service_pb2.FailureCount(failure=f.failure, protocol=int(f.protocol), count=f.count)  # type: ignore[arg-type]
            for f in e.failures
        ],
        loss_ratio=e.loss_ratio or 0.0,
        baseline_loss_ratio=e.baseline_loss_ratio or 0.0,
        rtt_ms=e.rtt_ms or 0.0,
        baseline_rtt_ms=e.baseline_rtt_ms or 0.0,
        suspect_probes=list(e.suspect_probes),
        filtered_targets=[
            query_service_pb2.FilteredTarget(
                target=t.target_id,
                protocol=int(t.protocol),  # type: ignore[arg-type]
                failure=t.failure,
                inside_failures=t.inside_failures,
                control_successes=t.control_successes,
            )
            for t in e.filtered_targets
        ],
        summary=e.summary,
        vantage_asns=list(e.vantage_asns),
        reachability_status=int(e.reachability_status),  # type: ignore[arg-type]
        interference_status=int(e.interference_status),  # type: ignore[arg-type]
        inside_vantage_points=e.inside_vantage_points,
        path=None if e.path is None else path_to_proto(e.path),
        routing=None if e.routing is None else routing_to_proto(e.routing),
        mechanism_reason=e.mechanism_reason,
    )


def routing_to_proto(r: AsRouting) -> query_service_pb2.RoutingVisibility:
    return query_service_pb2.RoutingVisibility(
        state=int(r.state),
        visible_prefixes=r.visible_prefixes,
        baseline_prefixes=r.baseline_prefixes,
        visible_addresses=r.visible_addresses,
        baseline_addresses=r.baseline_addresses,
        full_feed_peers=r.full_feed_peers,
        reason=r.reason,
    )


def path_to_proto(p: Localisation) -> query_service_pb2.PathLocalisation:
    return query_service_pb2.PathLocalisation(
        place=str(p.place),
        stop_asn=p.stop_asn,
        stop_address=p.stop_address,
        next_asn=p.next_asn,
        agreeing_vantage_points=p.agreeing_vantage_points,
        agreeing_asns=list(p.agreeing_asns),
        traced_vantage_points=p.traced_vantage_points,
        summary=p.summary,
    )


def as_status(
    v: AsVerdict, *, round_number: int, round_start_unix_s: float, as_name: str, algorithm_version: str
) -> query_service_pb2.AsStatus:
    return query_service_pb2.AsStatus(
        asn=v.asn,
        as_name=as_name,
        country=v.country,
        status=int(v.status),  # type: ignore[arg-type]
        confidence=v.confidence,
        belief=v.belief,
        round=round_number,
        round_start=timestamp(round_start_unix_s),
        since=timestamp(_ts(v.since)),
        evidence=evidence_to_proto(v.evidence),
        algorithm_version=algorithm_version,
        mechanism=int(v.mechanism),  # type: ignore[arg-type]
        mechanism_layer=int(v.layer),  # type: ignore[arg-type]
    )


def stored_as_verdicts(
    verdicts: tuple[AsVerdict, ...],
    *,
    round_number: int,
    round_start_unix_s: float,
    as_name: Callable[[int], str],
    algorithm_version: str,
) -> tuple[tuple[StoredAsVerdict, ...], dict[int, query_service_pb2.AsStatus]]:
    """The rows to store, and the wire messages by ASN (the countries embed their driving ASes)."""
    messages: dict[int, query_service_pb2.AsStatus] = {}
    rows = []
    for v in verdicts:
        message = as_status(
            v,
            round_number=round_number,
            round_start_unix_s=round_start_unix_s,
            as_name=as_name(v.asn),
            algorithm_version=algorithm_version,
        )
        messages[v.asn] = message
        rows.append(
            StoredAsVerdict(
                round=round_number,
                round_start_unix_s=round_start_unix_s,
                asn=v.asn,
                country=v.country,
                status=int(v.status),
                confidence=v.confidence,
                belief=v.belief,
                reachability_ratio=v.reachability_ratio,
                payload=message.SerializeToString(),
                mechanism=int(v.mechanism),
            )
        )
    return tuple(rows), messages


# A country message embeds at most this many driving ASes (worst first).
MAX_DRIVING_ASES = 10


def stored_country_verdicts(
    verdicts: tuple[CountryVerdict, ...],
    *,
    round_number: int,
    round_start_unix_s: float,
    as_messages: Mapping[int, query_service_pb2.AsStatus],
    algorithm_version: str,
) -> tuple[StoredCountryVerdict, ...]:
    rows = []
    for v in verdicts:
        message = query_service_pb2.CountryStatus(
            country=v.country,
            status=int(v.status),  # type: ignore[arg-type]
            confidence=v.confidence,
            round=round_number,
            round_start=timestamp(round_start_unix_s),
            since=timestamp(_ts(v.since)),
            affected_share=v.affected_share,
            measured_ases=v.measured_ases,
            driving_ases=[as_messages[a] for a in v.driving_asns[:MAX_DRIVING_ASES] if a in as_messages],
            algorithm_version=algorithm_version,
            summary=v.summary,
            mechanism=int(v.mechanism),  # type: ignore[arg-type]
            mechanism_layer=int(v.layer),  # type: ignore[arg-type]
            mechanism_reason=v.mechanism_reason,
        )
        rows.append(
            StoredCountryVerdict(
                round=round_number,
                round_start_unix_s=round_start_unix_s,
                country=v.country,
                status=int(v.status),
                confidence=v.confidence,
                reachability_ratio=v.reachability_ratio,
                payload=message.SerializeToString(),
                mechanism=int(v.mechanism),
            )
        )
    return tuple(rows)


def event_to_proto(e: Event) -> query_service_pb2.Event:
    message = query_service_pb2.Event(
        id=e.id,
        kind=int(e.kind),  # type: ignore[arg-type]
        state=query_service_pb2.EVENT_STATE_OPEN
        if e.ended_at is None
        else query_service_pb2.EVENT_STATE_CLOSED,
        asn=e.asn,
        # The wire sets exactly one of asn / country; storage keeps the AS's
        # country too, so that watching a country includes its ASes' events.
        country="" if e.asn else e.country,
        started_at=timestamp(_ts(e.started_at)),
        severity=e.severity,
        confidence=e.confidence,
        summary=e.summary,
        opened_round=e.opened_round,
        updated_round=e.updated_round,
        mechanism=int(e.mechanism),  # type: ignore[arg-type]
        mechanism_layer=int(e.layer),  # type: ignore[arg-type]
        mechanism_reason=e.mechanism_reason,
    )
    if e.ended_at is not None:
        message.ended_at.CopyFrom(timestamp(_ts(e.ended_at)))
    return message


def stored_event(e: Event) -> StoredEvent:
    return StoredEvent(
        event_id=e.id,
        kind=int(e.kind),
        asn=e.asn,
        country=e.country,
        started_at_unix_s=_ts(e.started_at),
        ended_at_unix_s=None if e.ended_at is None else _ts(e.ended_at),
        opened_round=e.opened_round,
        updated_round=e.updated_round,
        payload=event_to_proto(e).SerializeToString(),
        mechanism=int(e.mechanism),
    )
