"""Probe and target records ↔ their wire messages; timestamps."""

from __future__ import annotations

import math

from google.protobuf import duration_pb2, timestamp_pb2

from vantage.collector.storage.records import ProbeRecord, TargetRecord
from vantage.v1 import admin_service_pb2, query_service_pb2


def timestamp(unix_s: float) -> timestamp_pb2.Timestamp:
    seconds = math.floor(unix_s)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=round((unix_s - seconds) * 1e9) % 1_000_000_000)


def duration(seconds: float) -> duration_pb2.Duration:
    whole = math.floor(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=round((seconds - whole) * 1e9) % 1_000_000_000)


def unix_s(ts: timestamp_pb2.Timestamp) -> float:
    return ts.seconds + ts.nanos * 1e-9


def probe_state(probe: ProbeRecord, *, now_unix_s: float, silent_after_s: float) -> int:
    if probe.revoked:
        return query_service_pb2.PROBE_STATE_REVOKED
    if probe.last_contact_unix_s is not None and now_unix_s - probe.last_contact_unix_s <= silent_after_s:
        return query_service_pb2.PROBE_STATE_ALIVE
    return query_service_pb2.PROBE_STATE_SILENT


def probe_to_proto(
    probe: ProbeRecord, *, now_unix_s: float, silent_after_s: float, suspect: bool = False
) -> query_service_pb2.ProbeRecord:
    message = query_service_pb2.ProbeRecord(
        probe_id=probe.probe_id,
        name=probe.name,
        asn=probe.asn,
        country=probe.country,
        observed_asn=probe.observed_asn,
        observed_country=probe.observed_country,
        pinned_asn=probe.pinned_asn,
        pinned_country=probe.pinned_country,
        enrolled_at=timestamp(probe.enrolled_at_unix_s),
        results_received=probe.results_received,
        suspect=suspect,
        state=probe_state(probe, now_unix_s=now_unix_s, silent_after_s=silent_after_s),  # type: ignore[arg-type]
        address=probe.address,
        software_version=probe.software_version,
    )
    if probe.last_contact_unix_s is not None:
        message.last_contact.CopyFrom(timestamp(probe.last_contact_unix_s))
    return message


def target_to_proto(target: TargetRecord) -> admin_service_pb2.TargetSpec:
    return admin_service_pb2.TargetSpec(
        id=target.target_id,
        target=target.target,
        protocols=list(target.protocols),  # type: ignore[arg-type]
        country=target.country,
        asn=target.asn,
        tags=list(target.tags),
        source=target.source,
    )
